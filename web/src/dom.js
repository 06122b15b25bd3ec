// A tiny element builder: h("td", {class: "num"}, "1.00").
import { formatTime } from "./lib/format.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * A data table. columns: [{label, value(row) -> text|Node, numeric, testid}].
 * rowAttrs(row) adds attributes to each <tr>.
 */
export function dataTable({ caption, columns, rows, empty = "No rows.", rowAttrs = () => ({}), testid }) {
  // column.optional: left out on a phone's width (style.css), so the key columns fit.
  const cellClass = (column) => [column.numeric ? "num" : null, column.optional ? "optional" : null].filter(Boolean).join(" ") || null;
  const head = h("tr", {}, columns.map((column) => h("th", { scope: "col", class: cellClass(column), dataset: column.testid ? { col: column.testid } : undefined }, column.label)));
  const body = rows.length
    ? rows.map((row) =>
        h(
          "tr",
          rowAttrs(row),
          columns.map((column, index) => {
            const cell = column.value(row);
            const attrs = { class: cellClass(column), dataset: column.testid ? { col: column.testid } : undefined };
            return index === 0 && column.rowHeader ? h("th", { scope: "row", ...attrs }, cell) : h("td", attrs, cell);
          }),
        ),
      )
    : [h("tr", {}, h("td", { colSpan: columns.length, class: "empty" }, empty))];
  return h(
    "div",
    { class: "table-wrap" },
    h("table", { dataset: testid ? { testid } : undefined }, caption ? h("caption", {}, caption) : null, h("thead", {}, head), h("tbody", {}, body)),
  );
}

/** A <dl> of label/value pairs, used as a chart's text alternative and for the health figures. */
export function factList(pairs, testid) {
  return h(
    "dl",
    { class: "facts", dataset: testid ? { testid } : undefined },
    pairs.map(([label, value, id]) => h("div", { dataset: id ? { fact: id } : undefined }, h("dt", {}, label), h("dd", {}, value))),
  );
}

/**
 * Re-render `container` only when `signature` changed, keeping keyboard focus on the element
 * with the same data-focus-id (tables are rebuilt on every refresh).
 */
export function renderIfChanged(container, signature, render) {
  if (container.dataset.signature === signature) return false;
  const active = document.activeElement;
  const focusId = active && container.contains(active) ? active.dataset.focusId : undefined;
  render();
  container.dataset.signature = signature;
  if (focusId) {
    const again = [...container.querySelectorAll("[data-focus-id]")].find((el) => el.dataset.focusId === focusId);
    again?.focus();
  }
  return true;
}

/** A view that shows and hides its root element and refreshes itself with `refresh`. */
export function simpleView(name, root, refresh) {
  return {
    name,
    element: root,
    show() {
      root.hidden = false;
    },
    hide() {
      root.hidden = true;
    },
    refresh,
  };
}

/** A button that downloads a CSV file: make() -> {name, text}, called at the click (what is shown then). */
export function csvButton(label, make) {
  return h(
    "button",
    {
      type: "button",
      class: "secondary",
      onclick: () => {
        const { name, text } = make();
        const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
        const link = h("a", { href: url, download: name, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      },
    },
    label,
  );
}

/** A time cell: the page's full UTC time, and a shorter "MM-DD HH:MM" that a phone's width shows instead. */
export function timeText(full) {
  const match = /^\d{4}-(\d{2}-\d{2}) (\d{2}:\d{2})/.exec(full);
  const short = match ? [h("span", {}, match[1]), " ", h("span", {}, match[2])] : full; // day above time on a phone
  return h("span", { class: "time" }, h("span", { class: "time-long" }, full), h("span", { class: "time-short", "aria-hidden": "true" }, short));
}

/** "yes: slack 2026-11-30 11:15:02 UTC" (a phone's width shows "yes: slack"), or "not yet". */
export function deliveredText(delivered, { prefix = true } = {}) {
  const channels = delivered && typeof delivered === "object" ? Object.entries(delivered) : [];
  if (channels.length === 0) return h("span", { class: "delivered no" }, "not yet");
  return h(
    "span",
    { class: prefix ? "delivered yes" : null },
    prefix ? "yes: " : null,
    channels.map(([channel, at], i) => [i ? ", " : null, channel, h("span", { class: "time-long" }, ` ${formatTime(at)}`)]),
  );
}
