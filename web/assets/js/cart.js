// @ts-check
/**
 * The cart: on the server (CartService) once signed in; in this browser before that, moved into
 * the server cart at log-in, so a shopper can fill a cart and register at checkout.
 */
import { api, currentSession } from "./api.js";
import { sum, times } from "./money.js";

const LOCAL_KEY = "shopmesh.cart";

/**
 * @typedef {{productId: string, name: string, quantity: number, unitPrice: any, lineTotal: any,
 *   availability?: string, availableQuantity?: number}} CartLine
 * @typedef {{items: CartLine[], total: any, itemCount: number}} CartView
 */

/** @returns {Record<string, number>} */
function localItems() {
  try {
    return JSON.parse(localStorage.getItem(LOCAL_KEY) ?? "{}");
  } catch {
    return {};
  }
}

/** @param {Record<string, number>} items */
function saveLocal(items) {
  localStorage.setItem(LOCAL_KEY, JSON.stringify(items));
  window.dispatchEvent(new CustomEvent("cart-changed"));
}

/** @returns {Promise<CartView>} */
export async function loadCart() {
  const session = currentSession();
  if (session) {
    const cart = await api("GET", `/v1/carts/${encodeURIComponent(session.userId)}`, { auth: true });
    return { items: cart.items ?? [], total: cart.total, itemCount: cart.itemCount ?? 0 };
  }
  const items = localItems();
  const ids = Object.keys(items);
  if (!ids.length) return { items: [], total: { currencyCode: "USD", units: "0", nanos: 0 }, itemCount: 0 };
  const found = await api("GET", "/v1/products:batchGet", { query: { ids } });
  /** @type {CartLine[]} */
  const lines = (found.products ?? []).map((/** @type {any} */ p) => ({
    productId: p.id, name: p.name, quantity: items[p.id], unitPrice: p.price,
    lineTotal: times(p.price, items[p.id]), availableQuantity: p.inventory,
  }));
  const currency = lines[0]?.unitPrice?.currencyCode ?? "USD";
  return {
    items: lines,
    total: sum(lines.map((l) => l.lineTotal), currency),
    itemCount: lines.reduce((n, l) => n + l.quantity, 0),
  };
}

/** @param {string} productId @param {number} quantity */
export async function addToCart(productId, quantity) {
  const session = currentSession();
  if (session) {
    await api("POST", `/v1/carts/${encodeURIComponent(session.userId)}/items`, {
      body: { productId, quantity }, auth: true,
    });
    window.dispatchEvent(new CustomEvent("cart-changed"));
    return;
  }
  const items = localItems();
  items[productId] = (items[productId] ?? 0) + quantity;
  saveLocal(items);
}

/** @param {string} productId @param {number} quantity 0 removes the line */
export async function setQuantity(productId, quantity) {
  const session = currentSession();
  if (session) {
    const path = `/v1/carts/${encodeURIComponent(session.userId)}/items/${encodeURIComponent(productId)}`;
    if (quantity > 0) await api("PATCH", path, { body: { quantity }, auth: true });
    else await api("DELETE", path, { auth: true });
    window.dispatchEvent(new CustomEvent("cart-changed"));
    return;
  }
  const items = localItems();
  if (quantity > 0) items[productId] = quantity;
  else delete items[productId];
  saveLocal(items);
}

/** After log-in: the browser's cart joins the account's cart. */
export async function mergeLocalCart() {
  const items = localItems();
  for (const [productId, quantity] of Object.entries(items)) {
    await addToCart(productId, quantity);
    delete items[productId];
    saveLocal(items);
  }
}

/** Number of items, for the header; 0 when it cannot be read. */
export async function cartCount() {
  const session = currentSession();
  if (!session) return Object.values(localItems()).reduce((n, q) => n + q, 0);
  try {
    return (await loadCart()).itemCount;
  } catch {
    return 0;
  }
}
