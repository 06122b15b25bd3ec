import { h } from "../dom.js";
import { formatNumber, formatTime, plainNumber, windowLabel } from "../lib/format.js";
import { alertMarkers, fieldAccessor, rollingAccessor } from "../lib/series.js";
import { createKeyedView } from "./keyed.js";

const metricIs = (metric) => (alert) => alert.metric === metric;

export function createWeatherView(ctx) {
  return createKeyedView(ctx, {
    view: "weather",
    kind: "weather",
    alertKind: "weather",
    title: "Weather",
    keyLabel: "City",
    keySingular: "city",
    keyNoun: "cities",
    searchPlaceholder: "e.g. Sea",
    names: () => new Map(),
    columns: (windows) => [
      { label: "Temp °C", numeric: true, testid: "value", value: (item) => formatNumber(item.value, 1), csv: (item) => plainNumber(item.value, 1) },
      ...windows.map((w, i) => ({ label: windowLabel(w), numeric: true, optional: i > 0, testid: `rolling-${w}`, value: (item) => formatNumber(item.rolling?.[w], 1), csv: (item) => plainNumber(item.rolling?.[w], 1) })),
      { label: "Precip mm", numeric: true, value: (item) => formatNumber(item.fields?.precip_mm, 1), csv: (item) => plainNumber(item.fields?.precip_mm, 1) },
      { label: "Wind m/s", numeric: true, optional: true, value: (item) => formatNumber(item.fields?.wind_mps, 1), csv: (item) => plainNumber(item.fields?.wind_mps, 1) },
      { label: "Humidity %", numeric: true, optional: true, value: (item) => formatNumber(item.fields?.humidity_pct, 0), csv: (item) => plainNumber(item.fields?.humidity_pct, 0) },
      { label: "Updated", optional: true, testid: "ts", value: (item) => formatTime(item.ts) },
    ],
    csvColumns: (windows) => [
      { label: "temp °C", csv: (e) => plainNumber(e.value, 1) },
      ...windows.map((w) => ({ label: windowLabel(w), csv: (e) => plainNumber(e.rolling?.[w], 1) })),
      { label: "precip mm", csv: (e) => plainNumber(e.fields?.precip_mm, 1) },
      { label: "wind m/s", csv: (e) => plainNumber(e.fields?.wind_mps, 1) },
      { label: "humidity %", csv: (e) => plainNumber(e.fields?.humidity_pct, 0) },
      { label: "local day", csv: (e) => e.local_day ?? "" },
    ],
    charts: (windows) => [
      {
        title: "Temperature (°C) with rolling averages and temperature alerts (red markers)",
        scales: { y: { label: "°C" } },
        series: [
          { label: "temp °C", accessor: (e) => e.value, width: 2, digits: 1 },
          ...windows.map((w) => ({ label: windowLabel(w), accessor: rollingAccessor(w), dash: [4, 3], digits: 1 })),
        ],
        markers: (alerts) => alertMarkers(alerts, metricIs("temp_c")),
      },
      {
        title: "Precipitation (mm, bars) and wind (m/s, line) with their alerts",
        scales: { y: { label: "mm", min0: true }, y2: { label: "m/s", min0: true } },
        height: 220,
        series: [
          { label: "precip mm", accessor: fieldAccessor("precip_mm"), bars: true, stroke: "#1f4e99", digits: 1 },
          { label: "wind m/s", accessor: fieldAccessor("wind_mps"), scale: "y2", stroke: "#a14d00", width: 2, digits: 1 },
        ],
        markers: (alerts) => [
          ...alertMarkers(alerts, metricIs("precip_mm")),
          ...alertMarkers(alerts, metricIs("wind_mps")).map((marker) => ({ ...marker, scale: "y2" })),
        ],
      },
    ],
    headline: (latest) => [
      h("span", { class: "big", dataset: { testid: "value" } }, `${formatNumber(latest.value, 1)} °C`),
      h(
        "span",
        { class: "muted" },
        ` · precip ${formatNumber(latest.fields?.precip_mm, 1)} mm · wind ${formatNumber(latest.fields?.wind_mps, 1)} m/s · ${formatTime(latest.ts)}`,
      ),
    ],
    facts: (latest, windows) => [
      ["Temperature °C", formatNumber(latest.value, 1), "value"],
      ...windows.map((w) => [windowLabel(w), formatNumber(latest.rolling?.[w], 1), `rolling-${w}`]),
      ["Precipitation mm", formatNumber(latest.fields?.precip_mm, 1), "precip_mm"],
      ["Wind m/s", formatNumber(latest.fields?.wind_mps, 1), "wind_mps"],
      ["Humidity %", formatNumber(latest.fields?.humidity_pct, 0), "humidity_pct"],
      ["Pressure hPa", formatNumber(latest.fields?.pressure_hpa, 0), "pressure_hpa"],
      ["Local day", latest.local_day ?? "—", "local_day"],
      ["Time", formatTime(latest.ts), "ts"],
    ],
  });
}
