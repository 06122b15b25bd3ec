import { h } from "../dom.js";
import { formatInteger, formatNumber, formatPct, formatTime, windowLabel } from "../lib/format.js";
import { alertMarkers, fieldAccessor, rollingAccessor } from "../lib/series.js";
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
    columns: (windows, names) => [
      { label: "Name", value: (item) => names.get(item.key) ?? "" },
      { label: "Price", numeric: true, testid: "value", value: (item) => formatNumber(item.value) },
      { label: "Change", numeric: true, testid: "change", value: (item) => changeBadge(item.change_pct) },
      { label: "Previous close", numeric: true, testid: "previous_close", value: (item) => formatNumber(item.previous_close) },
      ...windows.map((w) => ({ label: windowLabel(w), numeric: true, testid: `rolling-${w}`, value: (item) => formatNumber(item.rolling?.[w]) })),
      { label: "Volume", numeric: true, value: (item) => formatInteger(item.fields?.volume) },
      { label: "Updated", testid: "ts", value: (item) => formatTime(item.ts) },
    ],
    charts: (windows) => [
      {
        title: "Price with rolling averages, previous close (dashed) and market alerts (red markers)",
        scales: { y: { label: "price" } },
        height: 300,
        series: [
          { label: "price", accessor: (e) => e.value, width: 2 },
          ...windows.map((w) => ({ label: windowLabel(w), accessor: rollingAccessor(w), dash: [4, 3] })),
        ],
        markers: (alerts) => alertMarkers(alerts),
        lines: (latest) =>
          typeof latest.previous_close === "number" ? [{ y: latest.previous_close, label: `previous close ${formatNumber(latest.previous_close)}` }] : [],
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
