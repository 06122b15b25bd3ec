// Pure formatting helpers: no DOM, so node's test runner covers them.

const DASH = "—";

export function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}

export function formatNumber(value, digits = 2) {
  if (!isNumber(value)) return DASH;
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatInteger(value) {
  if (!isNumber(value)) return DASH;
  return Math.round(value).toLocaleString("en-US");
}

export function formatPct(value, digits = 2) {
  if (!isNumber(value)) return DASH;
  const sign = value > 0 ? "+" : value < 0 ? "−" : "";
  return `${sign}${Math.abs(value).toFixed(digits)}%`;
}

/** RFC 3339 → "YYYY-MM-DD HH:MM:SS UTC" (the API speaks UTC; so does the page). */
export function formatTime(ts) {
  const ms = parseTs(ts);
  if (ms === null) return DASH;
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

/** Milliseconds since the epoch, or null for anything that is not a timestamp. */
export function parseTs(ts) {
  if (typeof ts !== "string" || ts === "") return null;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? null : ms;
}

export function toRfc3339(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 };

/** "5m" → 300; null when the text is not a window as barometer.yaml writes it. */
export function windowSeconds(name) {
  const match = /^(\d+)([smhd])$/.exec(String(name));
  return match ? Number(match[1]) * UNIT_SECONDS[match[2]] : null;
}

export function windowLabel(name) {
  return `${name} avg`;
}

export function formatDuration(ms) {
  if (!isNumber(ms)) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

export function formatDelivered(delivered) {
  const channels = delivered && typeof delivered === "object" ? Object.keys(delivered) : [];
  if (channels.length === 0) return { delivered: false, text: "not yet" };
  return {
    delivered: true,
    text: channels.map((channel) => `${channel} ${formatTime(delivered[channel])}`).join(", "),
  };
}

/** One line describing why an alert fired, for the feed and the text alternatives. */
export function describeAlert(alert) {
  if (alert.kind === "market") {
    return `price ${formatNumber(alert.value)} vs previous close ${formatNumber(alert.reference_price)} (${formatPct(alert.change_pct)})`;
  }
  return `${alert.metric ?? "value"} ${formatNumber(alert.value, 1)} ${alert.op ?? ""} ${formatNumber(alert.threshold, 1)}`.replace(/\s+/g, " ");
}

/** A number as a CSV cell: the display's decimals, no grouping, "" when there is none. */
export function plainNumber(value, digits = 2) {
  return isNumber(value) ? value.toFixed(digits) : "";
}

const pad2 = (n) => String(n).padStart(2, "0");

/**
 * Axis labels for times in seconds, 24-hour UTC: "HH:MM" (":SS" below a minute's step), the day
 * ("MM-DD") where a label starts a new day or when the step is a day or more.
 */
export function axisTimeLabels(splits, stepSeconds) {
  let previousDay = null;
  return splits.map((seconds) => {
    if (!isNumber(seconds)) return "";
    const iso = new Date(seconds * 1000).toISOString();
    const day = iso.slice(5, 10);
    const clock = stepSeconds < 60 ? iso.slice(11, 19) : iso.slice(11, 16);
    const newDay = day !== previousDay;
    previousDay = day;
    if (stepSeconds >= 86_400 || (newDay && /^00:00(:00)?$/.test(clock))) return day; // midnight: the day says it all
    return newDay ? `${day} ${clock}` : clock;
  });
}

/** A chart's hover time (seconds): the page's "YYYY-MM-DD HH:MM:SS UTC". */
export function formatSeconds(seconds) {
  return isNumber(seconds) ? formatTime(new Date(seconds * 1000).toISOString()) : DASH;
}
