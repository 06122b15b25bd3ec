// Pure helpers that turn API series/alert lists into chart columns.
import { parseTs } from "./format.js";

/** Merge newly fetched events into the known ones: one per event_id, in time order. */
export function mergeEvents(known, incoming) {
  const byId = new Map();
  for (const event of known) byId.set(eventKey(event), event);
  for (const event of incoming) byId.set(eventKey(event), event);
  return [...byId.values()]
    .filter((event) => parseTs(event.ts) !== null)
    .sort((a, b) => parseTs(a.ts) - parseTs(b.ts));
}

function eventKey(event) {
  return event.event_id ?? `${event.ts}#${event.value}`;
}

/** Keep only the events at or after `fromMs` (the chart's range moves with time). */
export function dropBefore(events, fromMs) {
  return events.filter((event) => parseTs(event.ts) >= fromMs);
}

/**
 * Columns for a uPlot chart: x in seconds, then one column per accessor.
 * Accessors return a number or null (a gap).
 */
export function toColumns(events, accessors) {
  const xs = new Array(events.length);
  const columns = accessors.map(() => new Array(events.length));
  events.forEach((event, i) => {
    xs[i] = parseTs(event.ts) / 1000;
    accessors.forEach((accessor, j) => {
      const value = accessor(event);
      columns[j][i] = typeof value === "number" && Number.isFinite(value) ? value : null;
    });
  });
  return [xs, ...columns];
}

export function rollingAccessor(window) {
  return (event) => event.rolling?.[window] ?? null;
}

export function fieldAccessor(field) {
  return (event) => event.fields?.[field] ?? null;
}

/** Alert markers as {x seconds, y value, label}. */
export function alertMarkers(alerts, predicate = () => true) {
  return alerts
    .filter((alert) => predicate(alert) && parseTs(alert.ts) !== null && typeof alert.value === "number")
    .map((alert) => ({ x: parseTs(alert.ts) / 1000, y: alert.value, label: alert.rule }));
}

export const RANGES = [
  { name: "1h", label: "Last hour", ms: 3_600_000 },
  { name: "6h", label: "Last 6 hours", ms: 6 * 3_600_000 },
  { name: "24h", label: "Last 24 hours", ms: 24 * 3_600_000 },
  { name: "3d", label: "Last 3 days", ms: 3 * 24 * 3_600_000 },
  { name: "7d", label: "Last 7 days", ms: 7 * 24 * 3_600_000 },
];

export function rangeMs(name) {
  return (RANGES.find((range) => range.name === name) ?? RANGES[3]).ms;
}
