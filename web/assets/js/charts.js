// @ts-check
/** Small SVG bar charts drawn with DOM calls (no library), each with a table of its numbers. */
import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {...(Node | string)} children
 */
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  el.append(...children);
  return el;
}

/**
 * @param {{title: string, bars: Array<{label: string, value: number, text: string}>}} chart
 */
export function barChart({ title, bars }) {
  const width = 640;
  const rowHeight = 28;
  const labelWidth = 200;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = Math.max(rowHeight, bars.length * rowHeight);
  const plot = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart" },
    svg("title", {}, title),
    ...bars.map((bar, i) => {
      const y = i * rowHeight;
      const length = Math.round(((width - labelWidth - 110) * bar.value) / max);
      return svg("g", {},
        svg("text", { x: 0, y: y + 18, class: "chart-label" }, bar.label.slice(0, 28)),
        svg("rect", { x: labelWidth, y: y + 5, width: Math.max(length, 1), height: rowHeight - 10, class: "chart-bar" }),
        svg("text", { x: labelWidth + length + 6, y: y + 18, class: "chart-value" }, bar.text));
    }));
  const table = h("table", { class: "table chart-data" },
    h("caption", null, `${title} (data)`),
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Label"), h("th", { scope: "col" }, "Value"))),
    h("tbody", null, bars.map((b) => h("tr", null, h("th", { scope: "row" }, b.label), h("td", null, b.text)))));
  return h("figure", { class: "chart-figure" }, plot, h("details", null, h("summary", null, "Show the numbers"), table));
}
