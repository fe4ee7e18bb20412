// @ts-check
/** The storefront: pages, the header (search with suggestions, cart count, account). */
import { api, currentSession, idempotencyKey, logIn, logOut } from "./api.js";
import { addToCart, cartCount, loadCart, mergeLocalCart, setQuantity } from "./cart.js";
import { h, loading, notify, plural, replace, unavailable } from "./dom.js";
import { field, formError, onSubmit } from "./forms.js";
import { formatMoney } from "./money.js";
import { go, link, startRouter } from "./router.js";

const PAGE_SIZE = 12;
// The sandbox provider's tokens, offered as test cards; no card number is ever typed.
const TEST_CARDS = [
  ["tok_visa", "Visa test card (payment succeeds)"],
  ["tok_chargeDeclined", "Declined test card (the bank refuses)"],
  ["tok_insufficientFunds", "Test card with insufficient funds"],
];
const SORTS = [
  ["", "Featured"],
  ["SEARCH_ORDER_PRICE_ASC", "Price: low to high"],
  ["SEARCH_ORDER_PRICE_DESC", "Price: high to low"],
  ["SEARCH_ORDER_RATING", "Rating"],
  ["SEARCH_ORDER_NEWEST", "Newest"],
];
const STATUS_TEXT = {
  ORDER_STATUS_PENDING: "Pending",
  ORDER_STATUS_PAID: "Paid",
  ORDER_STATUS_PAYMENT_FAILED: "Payment failed",
  ORDER_STATUS_CANCELLED: "Cancelled",
};
const POLL_MS = 2000;

/** @param {string} status */
function statusBadge(status) {
  const text = /** @type {Record<string, string>} */ (STATUS_TEXT)[status] ?? status.replace("ORDER_STATUS_", "");
  return h("span", { class: `badge status-${status.replace("ORDER_STATUS_", "").toLowerCase()}`, "data-status": status }, text);
}

/** @param {any} product */
function stockText(product) {
  const n = Number(product.inventory ?? 0);
  if (n <= 0) return h("span", { class: "stock out" }, "Out of stock");
  return h("span", { class: "stock" }, n < 5 ? `Only ${n} left` : `In stock (${n})`);
}

/** @param {number} average @param {number} count */
function stars(average, count) {
  if (!count) return h("span", { class: "rating muted" }, "No ratings yet");
  const rounded = Math.round(average * 10) / 10;
  return h("span", { class: "rating", "aria-label": `Rated ${rounded} out of 5 from ${plural(count, "review")}` },
    "★".repeat(Math.round(average)) + "☆".repeat(5 - Math.round(average)), ` ${rounded} (${count})`);
}

/** @param {any} product */
function productCard(product) {
  return h("li", { class: "card" },
    h("a", { href: link(`/product/${product.id}`), class: "card-link" },
      h("span", { class: "thumb", "aria-hidden": "true" }, (product.name ?? "?").slice(0, 1).toUpperCase()),
      h("span", { class: "card-name" }, product.name)),
    h("p", { class: "price" }, formatMoney(product.price)),
    h("p", { class: "card-meta" }, stockText(product), " ", stars(product.ratingAverage ?? 0, product.ratingCount ?? 0)));
}

/** @param {any[]} products */
function productGrid(products) {
  if (!products.length) return h("p", { class: "muted" }, "No products found.");
  return h("ul", { class: "grid", "data-testid": "product-grid" }, products.map(productCard));
}

/** Runs `load` into its own section so one failing service leaves the rest of the page working.
 * @param {HTMLElement} section @param {string} what @param {() => Promise<Node>} load */
async function fill(section, what, load) {
  replace(section, loading());
  try {
    replace(section, await load());
  } catch (error) {
    replace(section, unavailable(what, error));
  }
}

/** @param {HTMLElement} page @param {string} title */
function heading(page, title) {
  document.title = `${title} · shopmesh`;
  page.append(h("h1", null, title));
}

// ---- pages ---------------------------------------------------------------------------------

/** @type {import("./router.js").View} */
async function homePage(page) {
  heading(page, "Welcome to shopmesh");
  const categories = h("section", { "aria-labelledby": "cat-h" });
  const featured = h("section", { "aria-labelledby": "feat-h" });
  page.append(h("h2", { id: "cat-h" }, "Categories"), categories, h("h2", { id: "feat-h" }, "Featured products"), featured);
  await Promise.all([
    fill(categories, "Categories are", async () => {
      const { categories: list = [] } = await api("GET", "/v1/categories");
      return h("ul", { class: "chips" }, list.map((/** @type {any} */ c) =>
        h("li", null, h("a", { href: link("/products", { category: c.name }) }, `${c.displayName || c.name} (${c.productCount ?? 0})`))));
    }),
    fill(featured, "Featured products are", async () => {
      const { products = [] } = await api("GET", "/v1/products", { query: { pageSize: 8 } });
      return productGrid(products);
    }),
  ]);
}

// Page tokens seen on the way forward, so "Previous" can go back (tokens only point forward).
/** @type {Map<string, string[]>} */
const tokenTrail = new Map();

/** @type {import("./router.js").View} */
async function listingPage(page, { query }) {
  const category = query.get("category") ?? "";
  const sort = query.get("sort") ?? "";
  const token = query.get("page") ?? "";
  heading(page, category ? `Products: ${category}` : "All products");
  const categorySelect = field({ label: "Category", name: "category", value: category, options: [["", "All categories"]] });
  const sortSelect = field({ label: "Sort by", name: "sort", value: sort, options: SORTS.map(([v, t]) => [v, t]) });
  const controls = h("form", { class: "filters", "aria-label": "Filter and sort" }, categorySelect, sortSelect,
    h("button", { type: "submit" }, "Apply"));
  controls.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(controls);
    go("/products", { category: String(data.get("category") ?? ""), sort: String(data.get("sort") ?? "") });
  });
  for (const select of controls.querySelectorAll("select")) {
    select.addEventListener("change", () => controls.requestSubmit());
  }
  const results = h("section", { "aria-live": "polite", "aria-label": "Products" });
  page.append(controls, results);
  api("GET", "/v1/categories").then(({ categories = [] }) => {
    const select = /** @type {HTMLSelectElement} */ (categorySelect.querySelector("select"));
    for (const c of categories) select.append(h("option", { value: c.name, selected: c.name === category }, c.displayName || c.name));
  }).catch(() => { /* the filter keeps "All categories"; the list still works */ });
  await fill(results, "The product list is", async () => {
    const answer = sort
      ? await api("GET", "/v1/search", { query: { query: "", category, orderBy: sort, pageSize: PAGE_SIZE, pageToken: token } })
      : await api("GET", "/v1/products", { query: { category, pageSize: PAGE_SIZE, pageToken: token } });
    const key = `${category}|${sort}`;
    const trail = tokenTrail.get(key) ?? [];
    const at = trail.indexOf(token);
    const previous = token ? (at > 0 ? trail[at - 1] : "") : null;
    if (answer.nextPageToken && !trail.includes(answer.nextPageToken)) {
      tokenTrail.set(key, [...(at >= 0 ? trail.slice(0, at + 1) : [""]), answer.nextPageToken]);
    }
    const pager = h("nav", { class: "pager", "aria-label": "Pages" },
      previous !== null ? h("a", { href: link("/products", { category, sort, page: previous }), rel: "prev" }, "← Previous page") : null,
      answer.nextPageToken ? h("a", { href: link("/products", { category, sort, page: answer.nextPageToken }), rel: "next" }, "Next page →") : null);
    const total = answer.totalSize ? h("p", { class: "muted" }, plural(answer.totalSize, "product")) : null;
    return h("div", null, total, productGrid(answer.products ?? []), pager);
  });
}

/** @type {import("./router.js").View} */
async function searchPage(page, { query }) {
  const text = query.get("q") ?? "";
  heading(page, text ? `Results for “${text}”` : "Search");
  const results = h("section", { "aria-live": "polite", "aria-label": "Search results" });
  page.append(results);
  if (!text) return;
  await fill(results, "Search is", async () => {
    const answer = await api("GET", "/v1/search", { query: { query: text, pageSize: 24 } });
    const facets = (answer.facets?.categories ?? []).map((/** @type {any} */ f) =>
      h("li", null, h("a", { href: link("/products", { category: f.category }) }, `${f.category} (${f.count})`)));
    return h("div", null,
      h("p", { class: "muted" }, `${plural(answer.totalSize ?? 0, "product")} found`),
      facets.length ? h("ul", { class: "chips", "aria-label": "Categories" }, facets) : null,
      productGrid(answer.products ?? []));
  });
}

/** @type {import("./router.js").View} */
async function productPage(page, { path }) {
  const id = path[1] ?? "";
  const product = await api("GET", `/v1/products/${encodeURIComponent(id)}`);
  heading(page, product.name);
  const quantity = field({ label: "Quantity", name: "quantity", type: "number", value: "1", min: 1, max: 99, required: true });
  const addForm = h("form", { class: "add-to-cart" }, quantity, formError(),
    h("button", { type: "submit", disabled: Number(product.inventory) <= 0 }, "Add to cart"));
  onSubmit(/** @type {HTMLFormElement} */ (addForm), async (data) => {
    await addToCart(product.id, Number(data.get("quantity") || 1));
    notify(`${product.name} added to your cart.`);
  });
  const rating = h("section", { "aria-labelledby": "rating-h", class: "rating-summary" });
  const reviews = h("section", { "aria-labelledby": "reviews-h" });
  page.append(
    h("div", { class: "product" },
      h("span", { class: "thumb large", "aria-hidden": "true" }, product.name.slice(0, 1).toUpperCase()),
      h("div", null,
        h("p", { class: "price big", "data-testid": "price" }, formatMoney(product.price)),
        h("p", null, stockText(product)),
        h("p", null, "Category: ", h("a", { href: link("/products", { category: product.category }) }, product.category)),
        h("p", { class: "description" }, product.description),
        addForm)),
    h("h2", { id: "rating-h" }, "Rating"), rating,
    h("h2", { id: "reviews-h" }, "Reviews"), reviews);
  const showRating = () => fill(rating, "The rating is", async () => {
    const summary = await api("GET", `/v1/products/${encodeURIComponent(id)}/rating`);
    return h("div", { "data-testid": "rating", "data-count": summary.count ?? 0 }, stars(summary.average ?? 0, summary.count ?? 0));
  });
  const showReviews = () => fill(reviews, "Reviews are", async () => {
    const answer = await api("GET", `/v1/products/${encodeURIComponent(id)}/reviews`, { query: { pageSize: 20 } });
    const list = answer.reviews ?? [];
    return h("div", null,
      list.length ? h("ul", { class: "reviews" }, list.map((/** @type {any} */ r) => h("li", null,
        h("p", null, h("strong", null, r.title), " ",
          h("span", { class: "rating", "aria-label": `${r.rating} out of 5 stars` }, "★".repeat(r.rating) + "☆".repeat(5 - r.rating))),
        h("p", null, r.body),
        h("p", { class: "muted" }, `${r.authorName || "A shopper"}${r.verifiedPurchase ? " · verified purchase" : ""}`))))
        : h("p", { class: "muted" }, "No reviews yet."),
      reviewForm(id, async () => { await showReviews(); await waitForRating(); }));
  });
  const waitForRating = async () => {
    // The summary is updated from the review's event: ask again for a short while.
    const before = Number(rating.querySelector("[data-count]")?.getAttribute("data-count") ?? 0);
    for (let attempt = 0; attempt < 45; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (!rating.isConnected) return;
      await showRating();
      if (Number(rating.querySelector("[data-count]")?.getAttribute("data-count") ?? 0) > before) return;
    }
  };
  await Promise.all([showRating(), showReviews()]);
}

/** @param {string} productId @param {() => Promise<void>} done */
function reviewForm(productId, done) {
  if (!currentSession()) {
    return h("p", null, h("a", { href: link("/login", { next: `/product/${productId}` }) }, "Log in"), " to write a review.");
  }
  const form = /** @type {HTMLFormElement} */ (h("form", { class: "review-form", "aria-labelledby": "write-h" },
    h("h3", { id: "write-h" }, "Write a review"),
    field({ label: "Your rating", name: "rating", value: "5", options: [["5", "5 stars"], ["4", "4 stars"], ["3", "3 stars"], ["2", "2 stars"], ["1", "1 star"]] }),
    field({ label: "Title", name: "title", required: true }),
    field({ label: "Review", name: "body", multiline: true, required: true }),
    formError(),
    h("button", { type: "submit" }, "Post review")));
  onSubmit(form, async (data) => {
    await api("POST", `/v1/products/${encodeURIComponent(productId)}/reviews`, {
      auth: true,
      body: { rating: Number(data.get("rating")), title: data.get("title"), body: data.get("body") },
    });
    notify("Thank you: your review is posted.");
    await done();
  });
  return form;
}

/** @type {import("./router.js").View} */
async function cartPage(page) {
  heading(page, "Your cart");
  const body = h("section", { "aria-live": "polite", "aria-label": "Cart" });
  page.append(body);
  const render = () => fill(body, "The cart is", async () => {
    const cart = await loadCart();
    if (!cart.items.length) return h("p", null, "Your cart is empty. ", h("a", { href: link("/products") }, "Browse products"));
    const rows = cart.items.map((item) => {
      const qty = /** @type {HTMLInputElement} */ (h("input", { type: "number", min: 0, max: 99, value: item.quantity, id: `qty-${item.productId}`, name: "quantity" }));
      const update = h("button", { type: "button", onclick: async () => {
        try { await setQuantity(item.productId, Number(qty.value)); await render(); } catch (error) { notify(errorText(error), "error"); }
      } }, "Update");
      const remove = h("button", { type: "button", class: "link", onclick: async () => {
        try { await setQuantity(item.productId, 0); await render(); } catch (error) { notify(errorText(error), "error"); }
      } }, "Remove");
      return h("tr", { "data-product": item.productId },
        h("th", { scope: "row" }, h("a", { href: link(`/product/${item.productId}`) }, item.name || item.productId)),
        h("td", null, formatMoney(item.unitPrice)),
        h("td", null, h("label", { for: qty.id, class: "visually-hidden" }, `Quantity of ${item.name}`), qty, " ", update, " ", remove),
        h("td", null, formatMoney(item.lineTotal)));
    });
    return h("div", null,
      h("table", { class: "table" },
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "Product"), h("th", { scope: "col" }, "Price"), h("th", { scope: "col" }, "Quantity"), h("th", { scope: "col" }, "Total"))),
        h("tbody", null, rows)),
      h("p", { class: "total" }, "Total: ", h("strong", { "data-testid": "cart-total" }, formatMoney(cart.total))),
      h("a", { class: "button", href: link("/checkout") }, "Checkout"));
  });
  await render();
}

/** @param {unknown} error */
function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}

/** @type {import("./router.js").View} */
async function loginPage(page, { query }) {
  heading(page, "Log in");
  const next = query.get("next") ?? "/";
  const form = /** @type {HTMLFormElement} */ (h("form", { class: "narrow" },
    field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true }),
    field({ label: "Password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    formError(),
    h("button", { type: "submit" }, "Log in")));
  onSubmit(form, async (data) => {
    await logIn(String(data.get("email")), String(data.get("password")));
    await mergeLocalCart();
    go(next);
  });
  page.append(form, h("p", null, "New here? ", h("a", { href: link("/register", { next }) }, "Create an account")));
}

/** @type {import("./router.js").View} */
async function registerPage(page, { query }) {
  heading(page, "Create an account");
  const next = query.get("next") ?? "/";
  const form = /** @type {HTMLFormElement} */ (h("form", { class: "narrow" },
    field({ label: "Name", name: "displayName", autocomplete: "name", required: true }),
    field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true }),
    field({ label: "Password", name: "password", type: "password", autocomplete: "new-password", required: true,
      hint: "At least 12 characters; not a common password." }),
    formError(),
    h("button", { type: "submit" }, "Create account")));
  onSubmit(form, async (data) => {
    const body = { displayName: data.get("displayName"), email: data.get("email"), password: data.get("password") };
    await api("POST", "/v1/users", { body });
    await logIn(String(body.email), String(body.password));
    await mergeLocalCart();
    notify("Welcome to shopmesh!");
    go(next);
  });
  page.append(form, h("p", null, "Have an account? ", h("a", { href: link("/login", { next }) }, "Log in")));
}

/** @param {HTMLElement} page @param {string} next @returns {boolean} */
function needsLogin(page, next) {
  if (currentSession()) return false;
  page.append(h("p", null, "Please ", h("a", { href: link("/login", { next }) }, "log in"), " or ",
    h("a", { href: link("/register", { next }) }, "create an account"), " to continue."));
  return true;
}

/** @type {import("./router.js").View} */
async function checkoutPage(page) {
  heading(page, "Checkout");
  if (needsLogin(page, "/checkout")) return;
  const summary = h("section", { "aria-label": "Order summary" });
  page.append(summary);
  await fill(summary, "The cart is", async () => {
    const cart = await loadCart();
    if (!cart.items.length) return h("p", null, "Your cart is empty.");
    return h("div", null, h("ul", { class: "summary" }, cart.items.map((i) =>
      h("li", null, `${i.quantity} × ${i.name} — ${formatMoney(i.lineTotal)}`))),
    h("p", { class: "total" }, "Total before tax and shipping: ", h("strong", null, formatMoney(cart.total))));
  });
  const cards = h("fieldset", { class: "cards" }, h("legend", null, "Payment (test cards)"),
    TEST_CARDS.map(([token, text], index) => h("div", { class: "radio" },
      h("input", { type: "radio", name: "paymentToken", id: `card-${token}`, value: token, checked: index === 0 }),
      h("label", { for: `card-${token}` }, text))),
    h("p", { class: "field-error", id: "paymentToken-error", "aria-live": "polite" }));
  const form = /** @type {HTMLFormElement} */ (h("form", { class: "checkout" },
    h("fieldset", null, h("legend", null, "Shipping address"),
      field({ label: "Full name", name: "shippingAddress.name", autocomplete: "name", required: true }),
      field({ label: "Address line 1", name: "shippingAddress.line1", autocomplete: "address-line1", required: true }),
      field({ label: "Address line 2 (optional)", name: "shippingAddress.line2", autocomplete: "address-line2" }),
      field({ label: "City", name: "shippingAddress.city", autocomplete: "address-level2", required: true }),
      field({ label: "Region or state", name: "shippingAddress.region", autocomplete: "address-level1" }),
      field({ label: "Postal code", name: "shippingAddress.postalCode", autocomplete: "postal-code", required: true }),
      field({ label: "Country code (2 letters, e.g. DE)", name: "shippingAddress.countryCode", autocomplete: "country", required: true })),
    cards,
    h("div", { class: "payment-result", role: "alert", "data-testid": "payment-result" }),
    formError(),
    h("button", { type: "submit" }, "Place order")));
  // One key per attempt at this order: a resubmit after a network failure is the same checkout.
  let key = idempotencyKey();
  const result = /** @type {HTMLElement} */ (form.querySelector(".payment-result"));
  onSubmit(form, async (data) => {
    replace(result);
    const session = currentSession();
    /** @type {Record<string, string>} */
    const address = {};
    for (const [name, value] of data.entries()) {
      if (name.startsWith("shippingAddress.")) address[name.slice("shippingAddress.".length)] = String(value);
    }
    const order = await api("POST", "/v1/orders", {
      auth: true, headers: { "idempotency-key": key },
      body: { userId: session?.userId, paymentToken: data.get("paymentToken"), shippingAddress: address },
    });
    replace(result, loading("Waiting for the payment…"));
    const settled = await settle(order);
    key = idempotencyKey();
    if (settled.status === "ORDER_STATUS_PAYMENT_FAILED") {
      replace(result, h("p", { class: "declined" }, `Payment declined: ${settled.failureReason || "the card was refused"}. `,
        "Your cart is kept; choose another card and try again."));
      return;
    }
    window.dispatchEvent(new CustomEvent("cart-changed"));
    go(`/orders/${settled.id}`, { placed: "1" });
  });
  page.append(form);
}

/** Polls an order while its outcome is unknown (the payment is still running).
 * @param {any} order */
async function settle(order, attempts = 30) {
  let current = order;
  for (let i = 0; i < attempts && current.status === "ORDER_STATUS_PENDING"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    current = await api("GET", `/v1/orders/${encodeURIComponent(order.id)}`, { auth: true });
  }
  return current;
}

/** @param {any} order */
function orderDetails(order) {
  return h("div", { class: "order", "data-order": order.id },
    h("p", null, "Status: ", statusBadge(order.status)),
    order.failureReason ? h("p", { class: "muted" }, order.failureReason) : null,
    h("table", { class: "table" },
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Item"), h("th", { scope: "col" }, "Quantity"), h("th", { scope: "col" }, "Total"))),
      h("tbody", null, (order.items ?? []).map((/** @type {any} */ i) => h("tr", null,
        h("th", { scope: "row" }, h("a", { href: link(`/product/${i.productId}`) }, i.name || i.productId)),
        h("td", null, String(i.quantity)), h("td", null, formatMoney(i.lineTotal)))))),
    h("dl", { class: "totals" },
      h("dt", null, "Subtotal"), h("dd", null, formatMoney(order.subtotal)),
      h("dt", null, "Tax"), h("dd", null, formatMoney(order.tax)),
      h("dt", null, "Shipping"), h("dd", null, formatMoney(order.shipping)),
      h("dt", null, "Total"), h("dd", null, h("strong", null, formatMoney(order.total)))));
}

/** Re-runs `render` every POLL_MS while `active()` and the page is shown.
 * @param {() => Promise<boolean>} render returns whether to keep polling */
function poll(render) {
  let stopped = false;
  window.addEventListener("page-leave", () => { stopped = true; }, { once: true });
  const tick = async () => {
    if (stopped) return;
    let again = false;
    try { again = await render(); } catch { again = true; }
    if (again && !stopped) setTimeout(tick, POLL_MS);
  };
  return tick();
}

/** @type {import("./router.js").View} */
async function ordersPage(page, { path, query }) {
  if (path[1]) return orderPage(page, path[1], query.get("placed") === "1");
  heading(page, "Your orders");
  if (needsLogin(page, "/orders")) return;
  const list = h("section", { "aria-live": "polite", "aria-label": "Orders" });
  page.append(list);
  const session = currentSession();
  await poll(async () => {
    const answer = await api("GET", `/v1/users/${encodeURIComponent(session?.userId ?? "")}/orders`, { auth: true, query: { pageSize: 20 } });
    const orders = answer.orders ?? [];
    replace(list, orders.length ? h("table", { class: "table" },
      h("thead", null, h("tr", null, h("th", { scope: "col" }, "Order"), h("th", { scope: "col" }, "Placed"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Total"))),
      h("tbody", null, orders.map((/** @type {any} */ o) => h("tr", { "data-order": o.id },
        h("th", { scope: "row" }, h("a", { href: link(`/orders/${o.id}`) }, o.id)),
        h("td", null, o.createTime ? new Date(o.createTime).toLocaleString() : ""),
        h("td", null, statusBadge(o.status)),
        h("td", null, formatMoney(o.total))))))
      : h("p", null, "No orders yet."));
    return orders.some((/** @type {any} */ o) => o.status === "ORDER_STATUS_PENDING");
  });
}

/** @param {HTMLElement} page @param {string} id @param {boolean} placed */
async function orderPage(page, id, placed) {
  heading(page, placed ? "Thank you for your order" : "Order");
  if (needsLogin(page, `/orders/${id}`)) return;
  const body = h("section", { "aria-live": "polite", "aria-label": "Order details" });
  page.append(h("p", null, "Order number ", h("code", { "data-testid": "order-id" }, id)), body);
  await poll(async () => {
    const order = await api("GET", `/v1/orders/${encodeURIComponent(id)}`, { auth: true });
    const cancel = order.status === "ORDER_STATUS_PAID"
      ? h("button", { type: "button", onclick: async () => {
        try {
          await api("POST", `/v1/orders/${encodeURIComponent(id)}:cancel`, { auth: true, body: { reason: "cancelled by the customer" } });
          notify("Order cancelled; the payment is refunded.");
        } catch (error) { notify(errorText(error), "error"); }
      } }, "Cancel order")
      : null;
    replace(body, orderDetails(order), cancel);
    return order.status === "ORDER_STATUS_PENDING";
  });
}

/** @type {import("./router.js").View} */
async function notificationsPage(page) {
  heading(page, "Notifications");
  if (needsLogin(page, "/notifications")) return;
  const session = currentSession();
  const list = h("section", { "aria-label": "Notifications" });
  page.append(list);
  await fill(list, "Notifications are", async () => {
    const answer = await api("GET", `/v1/users/${encodeURIComponent(session?.userId ?? "")}/notifications`, { auth: true, query: { pageSize: 20 } });
    const items = answer.notifications ?? [];
    if (!items.length) return h("p", null, "No notifications yet.");
    return h("ul", { class: "notifications" }, items.map((/** @type {any} */ n) => h("li", null,
      h("strong", null, n.subject || n.template), " ",
      h("span", { class: "muted" }, `${String(n.status).replace("DELIVERY_STATUS_", "").toLowerCase()} · ${n.createTime ? new Date(n.createTime).toLocaleString() : ""}`))));
  });
}

/** @type {import("./router.js").View} */
function notFoundPage(page) {
  heading(page, "Page not found");
  page.append(h("p", null, h("a", { href: link("/") }, "Go to the home page")));
}

// ---- header --------------------------------------------------------------------------------

function renderAccount() {
  const slot = document.getElementById("nav-account");
  if (!slot) return;
  const session = currentSession();
  if (session) {
    replace(slot,
      h("a", { href: link("/orders") }, "Orders"), " ",
      h("a", { href: link("/notifications") }, "Notifications"), " ",
      h("button", { type: "button", class: "link", onclick: async () => { await logOut(); notify("You are logged out."); go("/"); } }, "Log out"));
  } else {
    replace(slot, h("a", { href: link("/login") }, "Log in"), " ", h("a", { href: link("/register") }, "Register"));
  }
}

async function renderCartCount() {
  const el = document.getElementById("nav-cart");
  if (!el) return;
  const count = await cartCount();
  el.textContent = count ? `Cart (${count})` : "Cart";
}

function setUpSearch() {
  const form = /** @type {HTMLFormElement} */ (document.getElementById("search-form"));
  const input = /** @type {HTMLInputElement} */ (document.getElementById("search-input"));
  const box = /** @type {HTMLUListElement} */ (document.getElementById("search-suggestions"));
  let timer = 0;
  let active = -1;
  let asked = "";
  const close = () => { box.hidden = true; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); active = -1; };
  const options = () => /** @type {HTMLElement[]} */ ([...box.querySelectorAll("[role=option]")]);
  const highlight = (/** @type {number} */ index) => {
    const all = options();
    active = (index + all.length) % all.length;
    all.forEach((el, i) => el.setAttribute("aria-selected", String(i === active)));
    input.setAttribute("aria-activedescendant", all[active].id);
  };
  const choose = (/** @type {HTMLElement} */ option) => {
    close();
    const productId = option.dataset.productId;
    if (productId) go(`/product/${productId}`);
    else go("/search", { q: option.dataset.text ?? "" });
  };
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    const prefix = input.value.trim();
    if (prefix.length < 2) { close(); return; }
    // Debounced: each keystroke is not a request (the API budget is per minute).
    timer = window.setTimeout(async () => {
      asked = prefix;
      try {
        const { suggestions = [] } = await api("GET", "/v1/search/suggest", { query: { prefix, limit: 6 } });
        if (asked !== input.value.trim()) return;
        replace(box, ...suggestions.map((/** @type {any} */ s, /** @type {number} */ i) => h("li", {
          role: "option", id: `suggestion-${i}`, "aria-selected": "false", "data-product-id": s.productId || undefined,
          "data-text": s.text, onmousedown: (/** @type {Event} */ e) => { e.preventDefault(); choose(/** @type {HTMLElement} */ (e.currentTarget)); },
        }, s.text)));
        box.hidden = !suggestions.length;
        input.setAttribute("aria-expanded", String(!box.hidden));
      } catch {
        close();
      }
    }, 250);
  });
  input.addEventListener("keydown", (event) => {
    if (box.hidden) return;
    if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
    else if (event.key === "Escape") close();
    else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(options()[active]); }
  });
  input.addEventListener("blur", () => setTimeout(close, 100));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    close();
    if (input.value.trim()) go("/search", { q: input.value.trim() });
  });
}

window.addEventListener("session-changed", () => { renderAccount(); renderCartCount(); });
window.addEventListener("cart-changed", () => { renderCartCount(); });
window.addEventListener("session-expired", () => {
  notify("Your session has expired. Please log in again.", "error");
  renderAccount();
  if (!window.location.hash.startsWith("#/login")) go("/login", { next: window.location.hash.replace(/^#/, "").split("?")[0] || "/" });
});

setUpSearch();
renderAccount();
renderCartCount();
startRouter({
  "": homePage,
  products: listingPage,
  search: searchPage,
  product: productPage,
  cart: cartPage,
  login: loginPage,
  register: registerPage,
  checkout: checkoutPage,
  orders: ordersPage,
  notifications: notificationsPage,
}, notFoundPage).then(() => {
  document.body.dataset.ready = "true";
  // The first page is rendered and usable: the browser tests read this mark.
  performance.mark("shop-ready");
});

