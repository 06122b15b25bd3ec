// Daily rollups from the lake (daily OHLC, daily weather) for a chosen range of days.
import { TimeChart } from "../chart.js";
import { h, csvButton, dataTable, renderIfChanged, replaceChildren } from "../dom.js";
import { csvFileName, toCsv } from "../lib/csv.js";
import { formatInteger, formatNumber, plainNumber } from "../lib/format.js";
import { routeHash } from "../lib/route.js";

export const ROLLUPS = {
  daily_ohlc: {
    label: "Daily OHLC (stocks)",
    keyColumn: "symbol",
    keyLabel: "Symbol",
    columns: [
      ["open", "Open", formatNumber, 2],
      ["high", "High", formatNumber, 2],
      ["low", "Low", formatNumber, 2],
      ["close", "Close", formatNumber, 2],
      ["volume", "Volume", formatInteger, 0],
      ["trades", "Trades", formatInteger, 0],
    ],
    // Candlesticks: the body from open to close (hollow green when it closed higher, red when lower), the wick from low to high.
    chart: {
      title: "Daily candlesticks (open, high, low, close; hollow green up, red down)",
      label: "price",
      series: [["open", "open"], ["high", "high"], ["low", "low"], ["close", "close"]],
      candles: { open: 1, high: 2, low: 3, close: 4 },
    },
  },
  daily_weather: {
    label: "Daily weather",
    keyColumn: "city",
    keyLabel: "City",
    columns: [
      ["temp_min_c", "Min °C", (v) => formatNumber(v, 1), 1],
      ["temp_max_c", "Max °C", (v) => formatNumber(v, 1), 1],
      ["temp_avg_c", "Avg °C", (v) => formatNumber(v, 1), 1],
      ["precip_mm", "Precip mm", (v) => formatNumber(v, 1), 1],
      ["max_wind_mps", "Max wind m/s", (v) => formatNumber(v, 1), 1],
      ["observations", "Observations", formatInteger, 0],
    ],
    chart: { title: "Daily average, minimum and maximum temperature", label: "°C", series: [["temp_avg_c", "avg °C"], ["temp_min_c", "min °C"], ["temp_max_c", "max °C"]] },
  },
};

const DAY_MS = 86_400_000;
const MAX_ROWS = 500;
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export function createRollupsView(ctx) {
  const firstSymbol = ctx.config.symbols?.[0]?.symbol ?? "";
  const defaults = () => ({ name: "daily_ohlc", key: firstSymbol, from: isoDay(Date.now() - 30 * DAY_MS), to: isoDay(Date.now()) });
  const state = defaults();
  let shownRows = [];
  let shownFor = null;
  let chart = null;
  let chartName = null;

  const nameSelect = h(
    "select",
    { id: "rollups-name", onchange: () => fillKeys(nameSelect.value) },
    Object.entries(ROLLUPS).map(([name, rollup]) => h("option", { value: name }, rollup.label)),
  );
  const keyList = h("datalist", { id: "rollups-keys" });
  const keyInput = h("input", { id: "rollups-key", type: "search", list: "rollups-keys", autocomplete: "off", placeholder: "all", value: state.key });
  const fromInput = h("input", { id: "rollups-from", type: "date", value: state.from });
  const toInput = h("input", { id: "rollups-to", type: "date", value: state.to });
  const message = h("p", { class: "message", role: "status" });
  const tableHolder = h("div", { class: "table-holder" });
  const chartContainer = h("div", { class: "chart", "aria-hidden": "true" });
  const chartCaption = h("figcaption", { id: "rollups-chart-caption" });
  const figure = h("figure", { class: "chart-figure", "aria-labelledby": "rollups-chart-caption", hidden: true }, chartCaption, chartContainer);

  const root = h(
    "section",
    { class: "view", id: "rollups-view", "aria-labelledby": "rollups-title", hidden: true },
    h("h2", { id: "rollups-title" }, "Daily rollups"),
    h(
      "form",
      {
        class: "toolbar",
        // The query is part of the URL: shareable, and the back button returns to the previous one.
        onsubmit: (event) => {
          event.preventDefault();
          ctx.navigate(routeHash("rollups", null, { table: nameSelect.value, key: keyInput.value.trim(), from: fromInput.value, to: toInput.value }));
        },
      },
      h("label", { for: "rollups-name" }, "Table"),
      nameSelect,
      h("label", { for: "rollups-key" }, "Symbol or city"),
      keyInput,
      keyList,
      h("label", { for: "rollups-from" }, "From"),
      fromInput,
      h("label", { for: "rollups-to" }, "To"),
      toInput,
      h("button", { type: "submit" }, "Show"),
    ),
    message,
    figure,
    tableHolder,
    h("div", { class: "toolbar" }, csvButton("Download these rows (CSV)", () => csvFile())),
  );

  function csvFile() {
    const asked = shownFor ?? state;
    const rollup = ROLLUPS[asked.name];
    const columns = [
      { label: "day", csv: (r) => r.day },
      { label: rollup.keyColumn, csv: (r) => r[rollup.keyColumn] },
      ...rollup.columns.map(([column, , , digits]) => ({ label: column, csv: (r) => plainNumber(r[column], digits) })),
    ];
    return { name: csvFileName(asked.name, asked.key, asked.from, asked.to), text: toCsv(columns, shownRows) };
  }

  function fillKeys(name) {
    const keys = name === "daily_ohlc" ? (ctx.config.symbols ?? []).map((s) => s.symbol) : (ctx.config.cities ?? []).map((c) => c.name);
    replaceChildren(keyList, keys.map((key) => h("option", { value: key })));
  }
  fillKeys(state.name);

  // Renders what was asked for, even if the form has changed since (the next refresh catches up).
  function render(asked, loadedRows) {
    const rollup = ROLLUPS[asked.name];
    const rows = [...loadedRows].sort((a, b) => String(b.day).localeCompare(String(a.day)) || String(a[rollup.keyColumn]).localeCompare(String(b[rollup.keyColumn])));
    const shown = rows.slice(0, MAX_ROWS);
    shownRows = shown;
    shownFor = asked;
    tableHolder.removeAttribute("aria-busy");
    message.textContent = `${rows.length} row${rows.length === 1 ? "" : "s"}${rows.length > MAX_ROWS ? ` (the newest ${MAX_ROWS} shown; choose a symbol or city or a shorter range)` : ""} of ${rollup.label.toLowerCase()} from ${asked.from || "the start"} to ${asked.to || "today"}${asked.key ? ` for ${asked.key}` : ""}.`;
    renderIfChanged(tableHolder, JSON.stringify([asked.name, rows]), () =>
      replaceChildren(
        tableHolder,
        dataTable({
          caption: `${rollup.label}, newest day first`,
          columns: [
            { label: "Day", value: (r) => r.day, rowHeader: true },
            { label: rollup.keyLabel, value: (r) => r[rollup.keyColumn] },
            ...rollup.columns.map(([column, label, format]) => ({ label, numeric: true, value: (r) => format(r[column]), testid: column })),
          ],
          rows: shown,
          empty: "No rollup rows in this range.",
          testid: "rollups-table",
        }),
      ),
    );
    renderChart(asked.name, rollup, rows);
  }

  function renderChart(name, rollup, rows) {
    // One line per column only makes sense for one key.
    const keys = new Set(rows.map((r) => r[rollup.keyColumn]));
    figure.hidden = keys.size !== 1;
    if (figure.hidden) return;
    if (chartName !== name) {
      chart?.destroy();
      const candles = rollup.chart.candles ?? null;
      delete chartContainer.dataset.candles;
      chart = new TimeChart(chartContainer, {
        series: rollup.chart.series.map(([, label], i) => ({
          label,
          hidden: Boolean(candles), // the candles are drawn from these; the legend still shows them on hover
          width: i === 0 ? 2 : 1,
          dash: i === 0 ? undefined : [4, 3],
          stroke: ["#1f4e99", "#2e7d32", "#a14d00", "#4a4a4a"][i],
          digits: candles ? 2 : 1,
        })),
        scales: { y: { label: rollup.chart.label } },
        height: 240,
        xPad: DAY_MS / 1000 / 2,
        days: true,
        candles,
      });
      chartName = name;
    }
    chartCaption.textContent = `${rollup.chart.title} for ${[...keys][0]} (values in the table below)`;
    const dayRows = [...rows].reverse().filter((r) => !Number.isNaN(Date.parse(`${r.day}T00:00:00Z`)));
    chart.setData([
      dayRows.map((r) => Date.parse(`${r.day}T00:00:00Z`) / 1000),
      ...rollup.chart.series.map(([column]) => dayRows.map((r) => (typeof r[column] === "number" ? r[column] : null))),
    ]);
  }

  return {
    name: "rollups",
    element: root,
    show({ params = {} }) {
      root.hidden = false;
      const base = defaults();
      const wanted = {
        name: ROLLUPS[params.table] ? params.table : base.name,
        key: params.key ?? (params.table ? "" : base.key),
        from: DAY_PATTERN.test(params.from ?? "") ? params.from : base.from,
        to: DAY_PATTERN.test(params.to ?? "") ? params.to : base.to,
      };
      if (JSON.stringify(wanted) === JSON.stringify({ name: state.name, key: state.key, from: state.from, to: state.to }) && shownFor) return;
      Object.assign(state, wanted);
      nameSelect.value = state.name;
      fillKeys(state.name);
      keyInput.value = state.key;
      fromInput.value = state.from;
      toInput.value = state.to;
      // The previous query's rows are not shown under the new one while it loads.
      tableHolder.setAttribute("aria-busy", "true");
      message.textContent = `Loading ${ROLLUPS[state.name].label.toLowerCase()}…`;
    },
    hide() {
      root.hidden = true;
    },
    async refresh() {
      const asked = { name: state.name, key: state.key, from: state.from, to: state.to };
      const page = await ctx.api.rollups(asked.name, { key: asked.key, from: asked.from, to: asked.to });
      if (JSON.stringify(asked) !== JSON.stringify({ name: state.name, key: state.key, from: state.from, to: state.to })) return;
      render(asked, page.rows ?? []);
    },
  };
}
