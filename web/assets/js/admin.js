// @ts-check
/** The back office: each role sees the pages and controls its permissions allow. */
import { api, claims, currentSession, logIn, logOut } from "./api.js";
import { barChart } from "./charts.js";
import { h, loading, notify, plural, replace, unavailable } from "./dom.js";
import { field, formError, onSubmit } from "./forms.js";
import { formatMoney, moneyInput, parseMoney, toNanos } from "./money.js";
import { go, link, startRouter } from "./router.js";

/** @type {Record<string, string[]>} role -> permissions, from the gateway (mesh.rbac) */
let rolePermissions = {};

/** @returns {Set<string>} */
function permissions() {
  const session = currentSession();
  const roles = session ? (claims(session.accessToken).roles ?? session.roles) : [];
  return new Set(roles.flatMap((/** @type {string} */ role) => rolePermissions[role] ?? []));
}

/** @param {string} permission */
const can = (permission) => permissions().has(permission);

// Page -> the permission that shows it. Analytics needs orders:read, as its API does.
const SECTIONS = [
  ["products", "Products", "products:write"],
  ["orders", "Orders", "orders:read"],
  ["users", "Users", "users:read"],
  ["analytics", "Analytics", "orders:read"],
];

function renderNav() {
  const nav = /** @type {HTMLElement} */ (document.getElementById("site-nav"));
  const session = currentSession();
  if (!session) { replace(nav); return; }
  replace(nav,
    ...SECTIONS.filter(([, , permission]) => can(permission)).map(([path, text]) => h("a", { href: link(`/${path}`) }, text)),
    h("span", { class: "muted" }, session.email || session.userId),
    h("button", { type: "button", class: "link", onclick: async () => { await logOut(); go("/"); } }, "Log out"));
}

/** @param {HTMLElement} page @param {string} title */
function heading(page, title) {
  document.title = `${title} · shopmesh back office`;
  page.append(h("h1", null, title));
}

/** Log-in form, or a refusal for accounts without any back-office permission.
 * @param {HTMLElement} page @param {string} permission @returns {boolean} whether the page may show */
function gate(page, permission) {
  const session = currentSession();
  if (!session) {
    heading(page, "Back office log in");
    const form = /** @type {HTMLFormElement} */ (h("form", { class: "narrow" },
      field({ label: "Email", name: "email", type: "email", autocomplete: "username", required: true }),
      field({ label: "Password", name: "password", type: "password", autocomplete: "current-password", required: true }),
      formError(), h("button", { type: "submit" }, "Log in")));
    onSubmit(form, async (data) => {
      await logIn(String(data.get("email")), String(data.get("password")));
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    });
    page.append(form);
    return false;
  }
  if (!permissions().size || (permission && !can(permission))) {
    heading(page, "Access refused");
    page.append(h("p", { class: "refused", role: "alert" },
      permissions().size
        ? "Your role does not allow this page."
        : "Your account has no back-office permissions. This area is for shop staff only."),
      h("p", null, h("a", { href: "/#/" }, "Back to the shop"), " · ",
        h("button", { type: "button", class: "link", onclick: async () => { await logOut(); go("/"); } }, "Log in as someone else")));
    return false;
  }
  return true;
}

/** @param {HTMLElement} section @param {string} what @param {() => Promise<Node>} load */
async function fill(section, what, load) {
  replace(section, loading());
  try { replace(section, await load()); } catch (error) { replace(section, unavailable(what, error)); }
}

/** @param {unknown} error */
const errorText = (error) => (error instanceof Error ? error.message : String(error));

/** @type {import("./router.js").View} */
function homePage(page) {
  if (!gate(page, "")) return;
  heading(page, "Back office");
  const sections = SECTIONS.filter(([, , permission]) => can(permission));
  page.append(h("ul", { class: "chips" }, sections.map(([path, text]) => h("li", null, h("a", { href: link(`/${path}`) }, text)))));
}

/** @type {import("./router.js").View} */
async function productsPage(page, { path, query }) {
  if (!gate(page, "products:write")) return;
  if (path[1]) return productEditor(page, path[1]);
  heading(page, "Products");
  page.append(h("p", null, h("a", { class: "button", href: link("/products/new") }, "New product")));
  const list = h("section", { "aria-label": "Products" });
  page.append(list);
  const token = query.get("page") ?? "";
  await fill(list, "The product list is", async () => {
    const answer = await api("GET", "/v1/products", { query: { pageSize: 25, pageToken: token } });
    return h("div", null, h("table", { class: "table" },
      h("thead", null, h("tr", null, ["Name", "Category", "Price", "Stock", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, (answer.products ?? []).map((/** @type {any} */ p) => h("tr", { "data-product": p.id },
        h("th", { scope: "row" }, p.name), h("td", null, p.category), h("td", null, formatMoney(p.price)),
        h("td", null, stockForm(p)),
        h("td", null, h("a", { href: link(`/products/${p.id}`) }, "Edit", h("span", { class: "visually-hidden" }, ` ${p.name}`))))))),
    answer.nextPageToken ? h("p", null, h("a", { href: link("/products", { page: answer.nextPageToken }) }, "Next page →")) : null);
  });
}

/** @param {any} product */
function stockForm(product) {
  const id = `stock-${product.id}`;
  const form = /** @type {HTMLFormElement} */ (h("form", { class: "inline", "aria-label": `Stock of ${product.name}` },
    h("label", { for: id, class: "visually-hidden" }, `Stock of ${product.name}`),
    h("input", { id, name: "inventory", type: "number", min: 0, value: product.inventory ?? 0, "aria-describedby": `${id}-error` }),
    h("button", { type: "submit" }, "Save stock"),
    h("span", { class: "field-error", id: `${id}-error`, "aria-live": "polite" }),
    h("span", { class: "form-error", role: "alert" })));
  onSubmit(form, async (data) => {
    const saved = await api("PATCH", `/v1/products/${encodeURIComponent(product.id)}`, {
      auth: true, query: { updateMask: "inventory" }, body: { inventory: Number(data.get("inventory")) },
    });
    notify(`Stock of ${saved.name} is now ${saved.inventory ?? 0}.`);
  });
  return form;
}

/** @param {HTMLElement} page @param {string} id */
async function productEditor(page, id) {
  const creating = id === "new";
  const product = creating ? { price: { currencyCode: "USD", units: "0", nanos: 0 }, inventory: 0 } : await api("GET", `/v1/products/${encodeURIComponent(id)}`);
  heading(page, creating ? "New product" : `Edit ${product.name}`);
  const form = /** @type {HTMLFormElement} */ (h("form", { class: "narrow" },
    field({ label: "Name", name: "name", value: product.name, required: true }),
    field({ label: "Description", name: "description", value: product.description, multiline: true }),
    field({ label: "Price", name: "price", value: creating ? "" : moneyInput(product.price), inputmode: "decimal", required: true, hint: "A decimal amount, e.g. 12.99" }),
    field({ label: "Currency", name: "currencyCode", value: product.price?.currencyCode ?? "USD", required: true }),
    field({ label: "Category", name: "category", value: product.category, required: true }),
    field({ label: "Stock", name: "inventory", type: "number", min: 0, value: String(product.inventory ?? 0) }),
    formError(),
    h("button", { type: "submit" }, creating ? "Create product" : "Save changes")));
  onSubmit(form, async (data) => {
    const price = parseMoney(String(data.get("price")), String(data.get("currencyCode")).trim().toUpperCase());
    if (!price) throw new Error("The price must be a decimal amount such as 12.99.");
    const body = {
      name: data.get("name"), description: data.get("description"), price,
      category: data.get("category"), inventory: Number(data.get("inventory") || 0),
    };
    if (creating) {
      const created = await api("POST", "/v1/products", { auth: true, body });
      notify(`Created ${created.name}.`);
      go(`/products/${created.id}`);
    } else {
      await api("PATCH", `/v1/products/${encodeURIComponent(id)}`, {
        auth: true, query: { updateMask: "name,description,price,category,inventory" }, body,
      });
      notify("Saved.");
    }
  });
  page.append(form);
  if (!creating) {
    page.append(h("p", null, h("button", { type: "button", class: "danger", onclick: async () => {
      if (!window.confirm(`Delete ${product.name}? This cannot be undone.`)) return;
      try {
        await api("DELETE", `/v1/products/${encodeURIComponent(id)}`, { auth: true });
        notify(`Deleted ${product.name}.`);
        go("/products");
      } catch (error) { notify(errorText(error), "error"); }
    } }, "Delete product")));
  }
}

const ORDER_STATUSES = [
  ["", "All"], ["ORDER_STATUS_PENDING", "Pending"], ["ORDER_STATUS_PAID", "Paid"],
  ["ORDER_STATUS_PAYMENT_FAILED", "Payment failed"], ["ORDER_STATUS_CANCELLED", "Cancelled"],
];

/** @type {import("./router.js").View} */
async function ordersPage(page, { query }) {
  if (!gate(page, "orders:read")) return;
  heading(page, "Orders");
  const status = query.get("status") ?? "";
  const token = query.get("page") ?? "";
  const filter = h("form", { class: "filters" }, field({ label: "Status", name: "status", value: status, options: ORDER_STATUSES }),
    h("button", { type: "submit" }, "Filter"));
  filter.addEventListener("submit", (event) => { event.preventDefault(); go("/orders", { status: String(new FormData(/** @type {HTMLFormElement} */ (filter)).get("status")) }); });
  const list = h("section", { "aria-label": "Orders", "aria-live": "polite" });
  page.append(filter, list);
  const render = () => fill(list, "The order list is", async () => {
    const answer = await api("GET", "/v1/orders", { auth: true, query: { pageSize: 25, pageToken: token, status } });
    return h("div", null, h("p", { class: "muted" }, plural(answer.totalSize ?? 0, "order")), h("table", { class: "table" },
      h("thead", null, h("tr", null, ["Order", "Customer", "Status", "Total", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, (answer.orders ?? []).map((/** @type {any} */ o) => h("tr", { "data-order": o.id },
        h("th", { scope: "row" }, h("code", null, o.id)), h("td", null, o.userId),
        h("td", null, h("span", { class: "badge", "data-status": o.status }, o.status.replace("ORDER_STATUS_", ""))),
        h("td", null, formatMoney(o.total)),
        h("td", null, o.status === "ORDER_STATUS_PAID" && can("orders:cancel")
          ? h("button", { type: "button", onclick: async () => {
            if (!window.confirm(`Cancel order ${o.id} and refund ${formatMoney(o.total)}?`)) return;
            try {
              const cancelled = await api("POST", `/v1/orders/${encodeURIComponent(o.id)}:cancel`, { auth: true, body: { reason: "cancelled by staff" } });
              notify(`Order ${o.id} is ${cancelled.status.replace("ORDER_STATUS_", "").toLowerCase()}.`);
              await render();
            } catch (error) { notify(errorText(error), "error"); }
          } }, "Cancel and refund", h("span", { class: "visually-hidden" }, ` order ${o.id}`))
          : null))))),
    answer.nextPageToken ? h("p", null, h("a", { href: link("/orders", { status, page: answer.nextPageToken }) }, "Next page →")) : null);
  });
  await render();
}

/** @type {import("./router.js").View} */
async function usersPage(page, { query }) {
  if (!gate(page, "users:read")) return;
  heading(page, "Users");
  const list = h("section", { "aria-label": "Users" });
  page.append(list);
  await fill(list, "The user list is", async () => {
    const answer = await api("GET", "/v1/users", { auth: true, query: { pageSize: 50, pageToken: query.get("page") ?? "" } });
    return h("div", null, h("table", { class: "table" },
      h("thead", null, h("tr", null, ["Email", "Name", "Roles", "Joined"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, (answer.users ?? []).map((/** @type {any} */ u) => h("tr", null,
        h("th", { scope: "row" }, u.email), h("td", null, u.displayName), h("td", null, (u.roles ?? []).join(", ")),
        h("td", null, u.createTime ? new Date(u.createTime).toLocaleDateString() : ""))))),
    answer.nextPageToken ? h("p", null, h("a", { href: link("/users", { page: answer.nextPageToken }) }, "Next page →")) : null);
  });
}

/** @type {import("./router.js").View} */
async function analyticsPage(page) {
  if (!gate(page, "orders:read")) return;
  heading(page, "Analytics (last 30 days)");
  const sales = h("section", { "aria-labelledby": "sales-h" });
  const top = h("section", { "aria-labelledby": "top-h" });
  const funnel = h("section", { "aria-labelledby": "funnel-h" });
  page.append(h("h2", { id: "sales-h" }, "Sales over time"), sales, h("h2", { id: "top-h" }, "Top products"), top,
    h("h2", { id: "funnel-h" }, "Funnel"), funnel);
  await Promise.all([
    fill(sales, "Sales are", async () => {
      const summary = await api("GET", "/v1/analytics/sales", { auth: true });
      return h("div", null,
        h("p", null, `${summary.orderCount ?? 0} orders · revenue ${formatMoney(summary.revenue)} · average ${formatMoney(summary.averageOrderValue)}`),
        barChart({ title: "Revenue by day", bars: (summary.days ?? []).map((/** @type {any} */ d) => ({
          label: d.date, value: Number(toNanos(d.revenue) / 10_000_000n), text: `${formatMoney(d.revenue)} (${d.orderCount})`,
        })) }));
    }),
    fill(top, "Top products are", async () => {
      const answer = await api("GET", "/v1/analytics/topProducts", { auth: true, query: { limit: 10 } });
      return barChart({ title: "Top products by revenue", bars: (answer.products ?? []).map((/** @type {any} */ p) => ({
        label: p.name || p.productId, value: Number(toNanos(p.revenue) / 10_000_000n), text: `${formatMoney(p.revenue)} · ${p.unitsSold} sold`,
      })) });
    }),
    fill(funnel, "The funnel is", async () => {
      const f = await api("GET", "/v1/analytics/funnel", { auth: true });
      return barChart({ title: "Checkout funnel", bars: [
        { label: "Cart adds", value: f.cartAdds ?? 0, text: String(f.cartAdds ?? 0) },
        { label: "Checkouts started", value: f.checkoutsStarted ?? 0, text: String(f.checkoutsStarted ?? 0) },
        { label: "Orders paid", value: f.ordersPaid ?? 0, text: String(f.ordersPaid ?? 0) },
      ] });
    }),
  ]);
}

/** @type {import("./router.js").View} */
function notFoundPage(page) {
  heading(page, "Page not found");
  page.append(h("p", null, h("a", { href: link("/") }, "Back office home")));
}

window.addEventListener("session-changed", renderNav);
window.addEventListener("session-expired", () => {
  notify("Your session has expired. Please log in again.", "error");
  window.dispatchEvent(new HashChangeEvent("hashchange"));
});

async function start() {
  try {
    const response = await fetch("/assets/roles.json");
    rolePermissions = await response.json();
  } catch {
    rolePermissions = {};
  }
  renderNav();
  await startRouter({
    "": homePage, products: productsPage, orders: ordersPage, users: usersPage, analytics: analyticsPage,
  }, notFoundPage);
  document.body.dataset.ready = "true";
  performance.mark("shop-ready");
}

start();
