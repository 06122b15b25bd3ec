// The live alert feed, newest first, with its delivery state.
import { h, simpleView, dataTable, renderIfChanged, replaceChildren } from "../dom.js";
import { describeAlert, formatDelivered, formatNumber, formatPct, formatTime } from "../lib/format.js";
import { Pager } from "../lib/pager.js";
import { routeHash } from "../lib/route.js";

const PAGE_SIZE = 50;

export function createAlertsView(ctx) {
  const state = { kind: "", key: "", pager: new Pager(), alerts: [], seen: null };
  const kindSelect = h(
    "select",
    { id: "alerts-kind", onchange: () => { state.kind = kindSelect.value; restart(); } },
    h("option", { value: "" }, "All"),
    h("option", { value: "market" }, "Market"),
    h("option", { value: "weather" }, "Weather"),
  );
  const keyInput = h("input", { id: "alerts-key", type: "search", autocomplete: "off", spellcheck: false, placeholder: "symbol or city" });
  let keyTimer = null;
  keyInput.addEventListener("input", () => {
    clearTimeout(keyTimer);
    keyTimer = setTimeout(() => { state.key = keyInput.value.trim(); restart(); }, 300);
  });
  const previousButton = h("button", { type: "button", onclick: () => state.pager.back() && ctx.refreshNow() }, "Newer");
  const nextButton = h("button", { type: "button", onclick: () => state.pager.forward() && ctx.refreshNow() }, "Older");
  const pageLabel = h("span", { class: "page-label" });
  const holder = h("div", { class: "table-holder" });

  const root = h(
    "section",
    { class: "view", id: "alerts-view", "aria-labelledby": "alerts-title", hidden: true },
    h("h2", { id: "alerts-title" }, "Alerts"),
    h("p", { class: "hint" }, "Market and weather alerts as they are stored, newest first; the first page follows new alerts live."),
    h(
      "form",
      { class: "toolbar", onsubmit: (event) => event.preventDefault() },
      h("label", { for: "alerts-kind" }, "Kind"),
      kindSelect,
      h("label", { for: "alerts-key" }, "Symbol or city (exact)"),
      keyInput,
    ),
    holder,
    h("div", { class: "pager" }, previousButton, pageLabel, nextButton),
  );

  function restart() {
    state.pager.reset();
    state.seen = null;
    ctx.refreshNow();
  }

  function keyLink(alert) {
    const view = alert.kind === "market" ? "stocks" : "weather";
    return h("a", { href: routeHash(view, alert.key), dataset: { focusId: `alert-${alert.alert_id}` } }, alert.key);
  }

  function render() {
    const columns = [
      { label: "Time", value: (a) => formatTime(a.ts), testid: "ts" },
      { label: "Kind", value: (a) => a.kind, testid: "kind" },
      { label: "Symbol / city", value: keyLink, testid: "key" },
      { label: "Rule", value: (a) => a.rule, testid: "rule" },
      { label: "Value", numeric: true, value: (a) => formatNumber(a.value), testid: "value" },
      {
        label: "Reference",
        numeric: true,
        testid: "reference",
        value: (a) => (a.kind === "market" ? formatNumber(a.reference_price) : `${a.op ?? ""} ${formatNumber(a.threshold, 1)}`.trim()),
      },
      { label: "Change", numeric: true, value: (a) => (a.kind === "market" ? formatPct(a.change_pct) : "—"), testid: "change" },
      { label: "Detail", value: (a) => describeAlert(a) },
      {
        label: "Delivered",
        testid: "delivered",
        value: (a) => {
          const { delivered, text } = formatDelivered(a.delivered);
          return h("span", { class: delivered ? "delivered yes" : "delivered no" }, delivered ? `yes: ${text}` : "not yet");
        },
      },
    ];
    renderIfChanged(holder, JSON.stringify(state.alerts), () =>
      replaceChildren(
        holder,
        dataTable({
          caption: "Alerts, newest first",
          columns,
          rows: state.alerts,
          empty: "No alerts yet.",
          rowAttrs: (a) => ({ dataset: { alertId: a.alert_id, kind: a.kind, key: a.key } }),
          testid: "alerts-table",
        }),
      ),
    );
    previousButton.disabled = !state.pager.hasPrevious;
    nextButton.disabled = !state.pager.hasNext;
    pageLabel.textContent = `Page ${state.pager.pageNumber}`;
  }

  return simpleView("alerts", root, async () => {
    const page = await ctx.api.alerts({ kind: state.kind, key: state.key, limit: PAGE_SIZE, next: state.pager.current });
    state.alerts = page.alerts ?? [];
    state.pager.loaded(page.next);
    if (state.pager.pageNumber === 1) announceNew();
    render();
  });

  function announceNew() {
    const ids = new Set(state.alerts.map((a) => a.alert_id));
    if (state.seen) {
      const fresh = state.alerts.filter((a) => !state.seen.has(a.alert_id));
      if (fresh.length) ctx.announce(`${fresh.length} new alert${fresh.length > 1 ? "s" : ""}: ${fresh.map((a) => `${a.key} ${a.rule}`).join(", ")}`);
    }
    state.seen = ids;
  }
}
