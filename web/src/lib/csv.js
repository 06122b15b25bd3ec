// CSV exports of what a view shows (RFC 4180: CRLF lines, fields with , " or a newline quoted).

export function csvField(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** columns: [{label, csv(row) -> string|number|null}] */
export function toCsv(columns, rows) {
  const lines = [columns.map((column) => csvField(column.label)).join(",")];
  for (const row of rows) lines.push(columns.map((column) => csvField(column.csv(row))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/** A file name from its parts: "barometer-stocks-AAPL-24h.csv"; only letters, digits, . _ - kept. */
export function csvFileName(...parts) {
  const safe = parts.filter((part) => part !== null && part !== undefined && part !== "").map((part) => String(part).replace(/[^A-Za-z0-9._-]+/g, "_"));
  return `${["barometer", ...safe].join("-")}.csv`;
}
