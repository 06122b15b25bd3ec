// The live alert feed, newest first, with its delivery state.
import { h, csvButton, dataTable, deliveredText, renderIfChanged, replaceChildren, timeText } from "../dom.js";
import { csvFileName, toCsv } from "../lib/csv.js";
import { describeAlert, formatDelivered, formatNumber, formatPct, formatTime, plainNumber } from "../lib/format.js";
import { Pager } from "../lib/pager.js";
import { routeHash } from "../lib/route.js";

const PAGE_SIZE = 50;

export function createAlertsView(ctx) {
  const state = { kind: "", key: "", pager: new Pager(), alerts: [], seen: null };
  const kindSelect = h(
    "select",
    // The filters are part of the URL: a new history entry when the kind changes, the typed key replaces it.
    { id: "alerts-kind", onchange: () => ctx.navigate(routeHash("alerts", null, { kind: kindSelect.value, key: state.key })) },
    h("option", { value: "" }, "All"),
    h("option", { value: "market" }, "Market"),
    h("option", { value: "weather" }, "Weather"),
  );
  const keyInput = h("input", { id: "alerts-key", type: "search", autocomplete: "off", spellcheck: false, placeholder: "symbol or city" });
  let keyTimer = null;
  keyInput.addEventListener("input", () => {
    clearTimeout(keyTimer);
    keyTimer = setTimeout(() => ctx.navigate(routeHash("alerts", null, { kind: state.kind, key: keyInput.value.trim() }), { replace: true }), 300);
  });
  const previousButton = h("button", { type: "button", onclick: () => state.pager.back() && ctx.refreshNow() }, "Newer");
  const nextButton = h("button", { type: "button", onclick: () => state.pager.forward() && ctx.refreshNow() }, "Older");
  const pageLabel = h("span", { class: "page-label" });
  const holder = h("div", { class: "table-holder" });
  const loading = h("p", { class: "message", role: "status" });

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
    loading,
    holder,
    h("div", { class: "pager" }, previousButton, pageLabel, nextButton, csvButton("Download these alerts (CSV)", () => csvFile())),
  );

  function restart() {
    state.pager.reset();
    state.seen = null;
    // The previous filter's rows are not shown under the new one while it loads.
    state.alerts = [];
    replaceChildren(holder);
    delete holder.dataset.signature;
    holder.setAttribute("aria-busy", "true");
    loading.textContent = "Loading alerts…";
    ctx.refreshNow();
  }

  function csvFile() {
    const columns = [
      { label: "time (UTC)", csv: (a) => formatTime(a.ts) },
      { label: "kind", csv: (a) => a.kind },
      { label: "symbol / city", csv: (a) => a.key },
      { label: "rule", csv: (a) => a.rule },
      { label: "value", csv: (a) => plainNumber(a.value) },
      { label: "reference", csv: (a) => (a.kind === "market" ? plainNumber(a.reference_price) : `${a.op ?? ""} ${plainNumber(a.threshold, 1)}`.trim()) },
      { label: "change %", csv: (a) => (a.kind === "market" ? plainNumber(a.change_pct) : "") },
      { label: "detail", csv: (a) => describeAlert(a) },
      { label: "delivered", csv: (a) => formatDelivered(a.delivered).text },
    ];
    return { name: csvFileName("alerts", state.kind, state.key, `page${state.pager.pageNumber}`), text: toCsv(columns, state.alerts) };
  }

  function keyLink(alert) {
    const view = alert.kind === "market" ? "stocks" : "weather";
    return h("a", { href: routeHash(view, alert.key), dataset: { focusId: `alert-${alert.alert_id}` } }, alert.key);
  }

  function render() {
    const columns = [
      { label: "Time", value: (a) => timeText(formatTime(a.ts)), testid: "ts" },
      { label: "Kind", optional: true, value: (a) => a.kind, testid: "kind" },
      { label: "Symbol / city", value: keyLink, testid: "key" },
      { label: "Rule", value: (a) => a.rule, testid: "rule" },
      { label: "Value", numeric: true, optional: true, value: (a) => formatNumber(a.value), testid: "value" },
      {
        label: "Reference",
        numeric: true,
        optional: true,
        testid: "reference",
        value: (a) => (a.kind === "market" ? formatNumber(a.reference_price) : `${a.op ?? ""} ${formatNumber(a.threshold, 1)}`.trim()),
      },
      { label: "Change", numeric: true, value: (a) => (a.kind === "market" ? formatPct(a.change_pct) : "—"), testid: "change" },
      { label: "Detail", optional: true, value: (a) => describeAlert(a) },
      {
        label: "Delivered",
        testid: "delivered",
        value: (a) => deliveredText(a.delivered),
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

  const view = {
    name: "alerts",
    element: root,
    show({ params = {} }) {
      root.hidden = false;
      const kind = ["market", "weather"].includes(params.kind) ? params.kind : "";
      const key = params.key ?? "";
      kindSelect.value = kind;
      if (document.activeElement !== keyInput) keyInput.value = key;
      if (kind !== state.kind || key !== state.key) {
        Object.assign(state, { kind, key });
        restart();
      }
    },
    hide() {
      root.hidden = true;
    },
    refresh,
  };
  return view;

  async function refresh() {
    const asked = { kind: state.kind, key: state.key, token: state.pager.current };
    const page = await ctx.api.alerts({ kind: asked.kind, key: asked.key, limit: PAGE_SIZE, next: asked.token });
    if (asked.kind !== state.kind || asked.key !== state.key) return; // the filter changed while this one loaded
    holder.removeAttribute("aria-busy");
    loading.textContent = "";
    state.alerts = page.alerts ?? [];
    state.pager.loaded(page.next);
    if (state.pager.pageNumber === 1) announceNew();
    render();
  }

  function announceNew() {
    const ids = new Set(state.alerts.map((a) => a.alert_id));
    if (state.seen) {
      const fresh = state.alerts.filter((a) => !state.seen.has(a.alert_id));
      if (fresh.length) ctx.announce(`${fresh.length} new alert${fresh.length > 1 ? "s" : ""}: ${fresh.map((a) => `${a.key} ${a.rule}`).join(", ")}`);
    }
    state.seen = ids;
  }
}
