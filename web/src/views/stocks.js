import { REFERENCE_COLOR } from "../chart.js";
import { h } from "../dom.js";
import { formatInteger, formatNumber, formatPct, formatTime, plainNumber, windowLabel } from "../lib/format.js";
import { alertMarkers, fieldAccessor, previousCloseSteps, rollingAccessor } from "../lib/series.js";
import { createKeyedView } from "./keyed.js";

export function changeBadge(changePct) {
  const tone = typeof changePct === "number" ? (changePct < 0 ? "down" : changePct > 0 ? "up" : "flat") : "flat";
  return h("span", { class: `change ${tone}`, dataset: { testid: "change" } }, formatPct(changePct));
}

export function createStocksView(ctx) {
  return createKeyedView(ctx, {
    view: "stocks",
    kind: "quote",
    alertKind: "market",
    title: "Stocks",
    keyLabel: "Symbol",
    keySingular: "symbol",
    keyNoun: "symbols",
    searchPlaceholder: "e.g. AA",
    names: (config) => new Map((config.symbols ?? []).map((s) => [s.symbol, s.name ?? ""])),
    // On a phone the symbol, price, change and first average stay; the rest is in the detail above.
    columns: (windows, names) => [
      { label: "Name", optional: true, value: (item) => names.get(item.key) ?? "" },
      { label: "Price", numeric: true, testid: "value", value: (item) => formatNumber(item.value), csv: (item) => plainNumber(item.value) },
      { label: "Change", numeric: true, testid: "change", value: (item) => changeBadge(item.change_pct), csv: (item) => plainNumber(item.change_pct) },
      { label: "Previous close", numeric: true, optional: true, testid: "previous_close", value: (item) => formatNumber(item.previous_close), csv: (item) => plainNumber(item.previous_close) },
      ...windows.map((w, i) => ({ label: windowLabel(w), numeric: true, optional: i > 0, testid: `rolling-${w}`, value: (item) => formatNumber(item.rolling?.[w]), csv: (item) => plainNumber(item.rolling?.[w]) })),
      { label: "Volume", numeric: true, optional: true, value: (item) => formatInteger(item.fields?.volume), csv: (item) => plainNumber(item.fields?.volume, 0) },
      { label: "Updated", optional: true, testid: "ts", value: (item) => formatTime(item.ts) },
    ],
    csvColumns: (windows) => [
      { label: "price", csv: (e) => plainNumber(e.value) },
      ...windows.map((w) => ({ label: windowLabel(w), csv: (e) => plainNumber(e.rolling?.[w]) })),
      { label: "volume", csv: (e) => plainNumber(e.fields?.volume, 0) },
      { label: "local day", csv: (e) => e.local_day ?? "" },
    ],
    charts: (windows) => [
      {
        title: "Price with rolling averages, previous close per day (grey steps) and market alerts (red markers)",
        scales: { y: { label: "price" } },
        height: 300,
        series: [
          { label: "price", accessor: (e) => e.value, width: 2 },
          ...windows.map((w) => ({ label: windowLabel(w), accessor: rollingAccessor(w), dash: [4, 3] })),
          {
            // One level per local day: the close of the day before, as the processor compares with.
            label: "previous close",
            column: (events, latest) => previousCloseSteps(events, { knownDay: latest.local_day, knownClose: latest.previous_close }),
            stroke: REFERENCE_COLOR,
            dash: [6, 4],
            step: true,
          },
        ],
        markers: (alerts) => alertMarkers(alerts),
      },
    ],
    headline: (latest) => [
      h("span", { class: "big", dataset: { testid: "value" } }, formatNumber(latest.value)),
      " ",
      changeBadge(latest.change_pct),
      h("span", { class: "muted" }, ` vs previous close ${formatNumber(latest.previous_close)} · ${formatTime(latest.ts)}`),
    ],
    facts: (latest, windows) => [
      ["Price", formatNumber(latest.value), "value"],
      ...windows.map((w) => [windowLabel(w), formatNumber(latest.rolling?.[w]), `rolling-${w}`]),
      ["Previous close", formatNumber(latest.previous_close), "previous_close"],
      ["Change vs previous close", formatPct(latest.change_pct), "change_pct"],
      ["Volume", formatInteger(fieldAccessor("volume")(latest)), "volume"],
      ["Local day", latest.local_day ?? "—", "local_day"],
      ["Time", formatTime(latest.ts), "ts"],
    ],
  });
}
