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

export const DEFAULT_RANGE = "24h";

export function rangeMs(name) {
  return (RANGES.find((range) => range.name === name) ?? RANGES[3]).ms;
}

export const MIN_GAP_S = 15 * 60;
export const GAP_FACTOR = 5;

/**
 * How far apart two points may be and still be joined by a line: GAP_FACTOR times the usual spacing
 * (the median), at least MIN_GAP_S. Nights, weekends and outages are longer.
 */
export function gapThreshold(xs, minGap = MIN_GAP_S, factor = GAP_FACTOR) {
  const steps = [];
  for (let i = 1; i < xs.length; i += 1) if (xs[i] > xs[i - 1]) steps.push(xs[i] - xs[i - 1]);
  if (steps.length === 0) return minGap;
  steps.sort((a, b) => a - b);
  const median = steps[Math.floor(steps.length / 2)];
  return Math.max(minGap, factor * median);
}

/**
 * Columns with a null row inserted in every gap longer than `threshold` seconds, so that a chart
 * drawn with spanGaps: false breaks its lines there instead of drawing a straight line across.
 */
export function insertGaps(columns, threshold = gapThreshold(columns[0])) {
  const [xs, ...values] = columns;
  const outX = [];
  const outValues = values.map(() => []);
  for (let i = 0; i < xs.length; i += 1) {
    if (i > 0 && xs[i] - xs[i - 1] > threshold) {
      outX.push(xs[i - 1] + (xs[i] - xs[i - 1]) / 2);
      outValues.forEach((column) => column.push(null));
    }
    outX.push(xs[i]);
    values.forEach((column, j) => outValues[j].push(column[i]));
  }
  return [outX, ...outValues];
}

/**
 * The previous close in force at each event: the last value of the most recent earlier local day in
 * the series (the processor's rule), or `knownClose` for the days of `knownDay` (the latest item's
 * previous close, for a first day whose previous day is before the range); null when unknown.
 */
export function previousCloseSteps(events, { knownDay = null, knownClose = null } = {}) {
  const lastOfDay = new Map();
  for (const event of events) if (event.local_day && typeof event.value === "number") lastOfDay.set(event.local_day, event.value);
  const days = [...lastOfDay.keys()].sort();
  const closeFor = new Map();
  days.forEach((day, i) => {
    if (i > 0) closeFor.set(day, lastOfDay.get(days[i - 1]));
  });
  // The latest day's close is the API's (its previous day may lie before the range).
  if (knownDay && typeof knownClose === "number" && days.length && knownDay === days.at(-1)) closeFor.set(knownDay, knownClose);
  return events.map((event) => closeFor.get(event.local_day) ?? null);
}

/** Midnights (UTC, seconds) from min to max, every `everyDays` days: the day gridlines. */
export function daySplits(min, max, everyDays = 1) {
  const day = 86_400;
  const out = [];
  for (let t = Math.ceil(min / day) * day; t <= max; t += day * everyDays) out.push(t);
  return out;
}
