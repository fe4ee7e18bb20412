// @ts-check
/**
 * google.type.Money in the browser: `units` (an int64 as a string) and `nanos` are kept as
 * integers (BigInt nano-units); amounts are never turned into floating point numbers.
 * @typedef {{currencyCode?: string, units?: string | number, nanos?: number}} Money
 */

const NANOS = 1_000_000_000n;

/** @param {Money | undefined | null} money @returns {bigint} */
export function toNanos(money) {
  if (!money) return 0n;
  return BigInt(money.units ?? 0) * NANOS + BigInt(money.nanos ?? 0);
}

/** @param {bigint} nanos @param {string} currencyCode @returns {Money} */
export function fromNanos(nanos, currencyCode) {
  // Units and nanos carry the same sign, as google.type.Money requires.
  return { currencyCode, units: (nanos / NANOS).toString(), nanos: Number(nanos % NANOS) };
}

/** @param {Money} money @param {number} quantity @returns {Money} */
export function times(money, quantity) {
  return fromNanos(toNanos(money) * BigInt(quantity), money.currencyCode ?? "USD");
}

/** @param {Money[]} amounts @param {string} currencyCode @returns {Money} */
export function sum(amounts, currencyCode) {
  return fromNanos(amounts.reduce((total, m) => total + toNanos(m), 0n), currencyCode);
}

/**
 * The exact decimal, e.g. "12.990000000" -> formatted "$12.99". Intl.NumberFormat formats a
 * decimal string exactly (no binary rounding).
 * @param {Money | undefined | null} money
 */
export function formatMoney(money) {
  const code = money?.currencyCode || "USD";
  const nanos = toNanos(money);
  const negative = nanos < 0n;
  const magnitude = negative ? -nanos : nanos;
  const text = `${negative ? "-" : ""}${magnitude / NANOS}.${(magnitude % NANOS).toString().padStart(9, "0")}`;
  const format = new Intl.NumberFormat("en-US", { style: "currency", currency: code });
  return format.format(/** @type {any} */ (text));
}

/**
 * "12.5" -> Money; null when the text is not a plain decimal with at most 9 fraction digits.
 * @param {string} text
 * @param {string} currencyCode
 * @returns {Money | null}
 */
export function parseMoney(text, currencyCode) {
  const match = /^\s*(-?)(\d{1,15})(?:\.(\d{1,9}))?\s*$/.exec(text);
  if (!match) return null;
  const [, sign, whole, fraction = ""] = match;
  const nanos = BigInt(whole) * NANOS + BigInt(fraction.padEnd(9, "0"));
  return fromNanos(sign ? -nanos : nanos, currencyCode);
}

/** @param {Money | undefined | null} money @returns {string} "12.99" for an input field */
export function moneyInput(money) {
  const nanos = toNanos(money);
  const cents = (nanos % NANOS).toString().padStart(9, "0").replace(/0+$/, "").padEnd(2, "0");
  return `${nanos / NANOS}.${cents}`;
}
