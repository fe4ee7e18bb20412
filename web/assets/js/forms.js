// @ts-check
/** Labelled fields, and the API's field violations shown next to the field they name. */
import { h } from "./dom.js";
import { ApiError } from "./api.js";

let fieldCount = 0;

/**
 * A labelled input. `name` is the API's JSON field path (e.g. "shippingAddress.postalCode").
 * @param {{label: string, name: string, type?: string, value?: string, required?: boolean,
 *   autocomplete?: string, min?: number, max?: number, step?: string, hint?: string,
 *   multiline?: boolean, options?: Array<[string, string]>, inputmode?: string}} spec
 */
export function field(spec) {
  const id = `f-${spec.name.replace(/[^A-Za-z0-9]/g, "-")}-${++fieldCount}`;
  const errorId = `${id}-error`;
  const common = {
    id, name: spec.name, required: spec.required, "aria-describedby": errorId,
    autocomplete: spec.autocomplete,
  };
  let control;
  if (spec.options) {
    control = h("select", common, spec.options.map(([value, text]) =>
      h("option", { value, selected: value === spec.value }, text)));
  } else if (spec.multiline) {
    control = h("textarea", { ...common, rows: 4 }, spec.value ?? "");
  } else {
    control = h("input", {
      ...common, type: spec.type ?? "text", value: spec.value, min: spec.min, max: spec.max,
      step: spec.step, inputmode: spec.inputmode,
    });
  }
  return h("div", { class: "field" },
    h("label", { for: id }, spec.label),
    spec.hint ? h("p", { class: "hint" }, spec.hint) : null,
    control,
    h("p", { class: "field-error", id: errorId, "aria-live": "polite" }));
}

/** @param {HTMLFormElement} form */
export function clearErrors(form) {
  for (const el of form.querySelectorAll(".field-error, .form-error")) el.textContent = "";
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** "shipping_address.postal_code" -> "shippingAddress.postalCode" @param {string} path */
function camel(path) {
  return path.split(".").map((part) => part.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())).join(".");
}

/**
 * Puts each violation under its field (by the field's full path, then by its last part);
 * whatever names no field of the form goes to the form's own message.
 * @param {HTMLFormElement} form
 * @param {unknown} error
 */
export function showErrors(form, error) {
  clearErrors(form);
  const general = [];
  if (error instanceof ApiError && error.violations.length) {
    for (const violation of error.violations) {
      const path = camel(violation.field || "");
      const control = /** @type {HTMLElement | null} */ (
        form.querySelector(`[name="${CSS.escape(path)}"]`) ??
        form.querySelector(`[name$=".${CSS.escape(path.split(".").pop() ?? "")}"]`) ??
        form.querySelector(`[name="${CSS.escape(path.split(".").pop() ?? "")}"]`));
      const slot = control ? document.getElementById(control.getAttribute("aria-describedby") ?? "") : null;
      if (control && slot) {
        control.setAttribute("aria-invalid", "true");
        slot.textContent = slot.textContent ? `${slot.textContent} ${violation.description}` : violation.description;
      } else {
        general.push(`${violation.field}: ${violation.description}`);
      }
    }
    if (!general.length) general.push("Please correct the marked fields.");
  } else {
    general.push(error instanceof Error ? error.message : String(error));
  }
  const box = form.querySelector(".form-error");
  if (box) box.textContent = general.join(" ");
  /** @type {HTMLElement | null} */ (form.querySelector("[aria-invalid]"))?.focus();
}

/** @returns {HTMLElement} the form-level message slot */
export function formError() {
  return h("p", { class: "form-error", role: "alert" });
}

/**
 * Disables the submit button while `work` runs, and shows its error on the form.
 * @param {HTMLFormElement} form
 * @param {(data: FormData) => Promise<void>} work
 */
export function onSubmit(form, work) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = /** @type {HTMLButtonElement | null} */ (form.querySelector("button[type=submit]"));
    if (button?.disabled) return;
    clearErrors(form);
    if (button) { button.disabled = true; button.dataset.label = button.textContent ?? ""; button.textContent = "Working…"; }
    form.setAttribute("aria-busy", "true");
    try {
      await work(new FormData(form));
    } catch (error) {
      showErrors(form, error);
    } finally {
      form.removeAttribute("aria-busy");
      if (button) { button.disabled = false; button.textContent = button.dataset.label ?? "Submit"; }
    }
  });
}
