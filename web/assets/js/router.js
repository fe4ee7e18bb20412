// @ts-check
/**
 * Pages live in the URL fragment (`/#/product/42`): the browser never sends it, so no page path
 * can collide with an API route such as `/products/{id}`.
 * @typedef {{path: string[], query: URLSearchParams}} Location
 * @typedef {(main: HTMLElement, location: Location) => (void | Promise<void>)} View
 */
import { focusMain, h, replace, unavailable } from "./dom.js";

/** @returns {Location} */
export function currentLocation() {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?", 2);
  return { path: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

/**
 * @param {string} path e.g. "/product/42"
 * @param {Record<string, string | number | undefined>} [query]
 */
export function link(path, query = {}) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

/** @param {string} path @param {Record<string, string | number | undefined>} [query] */
export function go(path, query) {
  window.location.hash = link(path, query);
}

/**
 * @param {Record<string, View>} views by first path segment ("" for the home page)
 * @param {View} notFound
 */
export function startRouter(views, notFound) {
  const main = /** @type {HTMLElement} */ (document.getElementById("main"));
  let generation = 0;
  // The skip link moves focus; following its "#main" would be taken for a page.
  document.querySelector(".skip-link")?.addEventListener("click", (event) => {
    event.preventDefault();
    focusMain();
  });
  async function render() {
    const location = currentLocation();
    const view = views[location.path[0] ?? ""] ?? notFound;
    const mine = ++generation;
    window.dispatchEvent(new CustomEvent("page-leave"));
    const page = h("div", { class: "page" });
    replace(main, page);
    try {
      await view(page, location);
    } catch (error) {
      if (mine === generation) replace(page, unavailable("This page is", error));
    }
    if (mine === generation) {
      document.body.dataset.page = location.path[0] || "home";
      // After a page change only: a first load leaves focus at the top (the skip link).
      if (mine > 1) focusMain();
    }
  }
  window.addEventListener("hashchange", render);
  return render();
}
