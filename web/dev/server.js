// Development aid only (never used by the test suite): serves web/dist and canned JSON in the shapes of
// Barometer's read API, with a few hundred symbols so that search and paging can be tried.
//   npm run build && node dev/server.js [port]   → http://127.0.0.1:5180/
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const PORT = Number(process.argv[2] ?? 5180);
const TOKEN = "dev-token";
const DIST = fileURLToPath(new URL("../dist/", import.meta.url));
const MINUTE = 60_000;
const WINDOWS = { "5m": 5, "1h": 60, "24h": 1440 };
const HISTORY_MINUTES = 3 * 1440;

const CONFIG = {
  symbols: [
    { symbol: "AAPL", timezone: "America/New_York", name: "Apple Inc." },
    { symbol: "MSFT", timezone: "America/New_York", name: "Microsoft Corp." },
    { symbol: "AMZN", timezone: "America/New_York", name: "Amazon.com Inc." },
    { symbol: "SAP", timezone: "Europe/Berlin", name: "SAP SE" },
  ],
  cities: [
    { name: "Seattle", lat: 47.61, lon: -122.33, timezone: "America/Los_Angeles" },
    { name: "New York", lat: 40.71, lon: -74.01, timezone: "America/New_York" },
    { name: "London", lat: 51.51, lon: -0.13, timezone: "Europe/London" },
  ],
  windows: Object.keys(WINDOWS),
  market_drop_pct: 10,
  weather_rules: [{ name: "heavy_rain", metric: "precip_mm", op: ">=", threshold: 30 }],
};
const SYMBOLS = [...CONFIG.symbols.map((s) => s.symbol), ...Array.from({ length: 300 }, (_, i) => `SYM${String(i).padStart(3, "0")}`)].sort();
const CITIES = CONFIG.cities.map((c) => c.name).sort();
const STARTED = Date.now();

const hash = (text) => [...text].reduce((acc, ch) => (acc * 31 + ch.charCodeAt(0)) >>> 0, 7);
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const nowMinute = () => Math.floor(Date.now() / MINUTE) * MINUTE;

function quoteValue(key, minute) {
  const seed = hash(key);
  const base = 50 + (seed % 400);
  if (key === "AAPL") {
    // 200 all of yesterday, then a slide to 170 today: one market_drop alert.
    const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    return minute < today ? 200 + Math.sin(minute / 3_600_000) * 2 : 176 - Math.min(6, (minute - today) / 3_600_000);
  }
  return Number((base * (1 + 0.03 * Math.sin(minute / 7_200_000 + seed) + 0.01 * Math.sin(minute / 600_000))).toFixed(2));
}

function weatherFields(key, minute) {
  const seed = hash(key);
  const temp = 8 + (seed % 10) + 6 * Math.sin((minute / 86_400_000) * 2 * Math.PI);
  const rain = Math.max(0, 12 * Math.sin(minute / 5_400_000 + seed) - 4);
  return { temp_c: Number(temp.toFixed(1)), precip_mm: Number(rain.toFixed(1)), wind_mps: Number((4 + 3 * Math.cos(minute / 3_000_000 + seed)).toFixed(1)), humidity_pct: 70 };
}

function makeEvent(kind, key, minute) {
  const fields = kind === "quote" ? { price: quoteValue(key, minute), volume: 1000 + (minute / MINUTE) % 500, currency: "USD" } : weatherFields(key, minute);
  const value = kind === "quote" ? fields.price : fields.temp_c;
  return { ts: iso(minute), value, fields, event_id: `${kind}-${key}-${minute}` };
}

function history(kind, key) {
  const end = nowMinute();
  const events = [];
  for (let m = end - HISTORY_MINUTES * MINUTE; m <= end; m += MINUTE) events.push(makeEvent(kind, key, m));
  // exact rolling means over the minute grid
  const prefix = [0];
  for (const e of events) prefix.push(prefix.at(-1) + e.value);
  events.forEach((e, i) => {
    e.rolling = Object.fromEntries(Object.entries(WINDOWS).map(([w, n]) => {
      const lo = Math.max(0, i + 1 - n);
      return [w, Number(((prefix[i + 1] - prefix[lo]) / (i + 1 - lo)).toFixed(4))];
    }));
  });
  return events;
}

function latestOf(kind, key) {
  const events = history(kind, key);
  const last = events.at(-1);
  const latest = { kind, key, value: last.value, ts: last.ts, rolling: last.rolling, fields: last.fields, local_day: last.ts.slice(0, 10) };
  if (kind === "quote") {
    const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const previous = events.filter((e) => Date.parse(e.ts) < today).at(-1);
    latest.previous_close = previous.value;
    latest.change_pct = Number((((last.value - previous.value) / previous.value) * 100).toFixed(2));
  }
  return latest;
}

function alerts() {
  const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  const list = [
    { alert_id: "a-aapl", kind: "market", key: "AAPL", rule: "market_drop", ts: iso(today + 25 * MINUTE), value: 179.9, reference_price: 200.0, change_pct: -10.05, threshold: 10, delivered: { slack: iso(today + 26 * MINUTE) } },
    { alert_id: "a-sea", kind: "weather", key: "Seattle", rule: "heavy_rain", ts: iso(today + 90 * MINUTE), value: 31.2, metric: "precip_mm", op: ">=", threshold: 30, delivered: {} },
    ...SYMBOLS.slice(10, 40).map((key, i) => ({ alert_id: `a-${key}`, kind: "market", key, rule: "market_drop", ts: iso(today - (i + 1) * 37 * MINUTE), value: 90, reference_price: 101, change_pct: -10.9, threshold: 10, delivered: i % 3 ? { slack: iso(today - (i + 1) * 36 * MINUTE) } : {} })),
  ];
  return list.sort((a, b) => b.ts.localeCompare(a.ts));
}

function page(items, url, field, defaultLimit = 1000) {
  const limit = Math.min(Number(url.searchParams.get("limit") ?? defaultLimit) || defaultLimit, 1000);
  const offset = Number(url.searchParams.get("next") ?? 0) || 0;
  const slice = items.slice(offset, offset + limit);
  return { [field]: slice, next: offset + limit < items.length ? String(offset + limit) : null };
}

function inRange(ts, url) {
  const from = url.searchParams.get("from");
  const to = url.searchParams.get("to");
  return (!from || ts >= from.slice(0, ts.length)) && (!to || ts <= to);
}

function api(url) {
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent); // ["v1", ...]
  const kinds = { quote: SYMBOLS, weather: CITIES };
  if (parts[1] === "config") return [200, CONFIG];
  if (parts[1] === "health") {
    const minutes = Math.floor((Date.now() - STARTED) / 1000);
    return [200, {
      events_in_per_min: Array.from({ length: 30 }, (_, i) => ({ minute: iso(nowMinute() - (29 - i) * MINUTE), count: 300 + ((i * 37) % 120) })),
      events_in_total: 12000 + minutes * 5, processed_total: 11950 + minutes * 5, quarantined_total: 42,
      quarantine_reasons: [{ reason: "price: must be > 0", count: 30 }, { reason: "ts: not RFC 3339", count: 12 }],
      dlq_depth: { events: 0, stream_failures: 0, notify: 1 }, stream_lag_ms: 850,
      handler_errors: { processor: 0, notifier: 1, api: 0, poller: 0 }, alerts_sent: 31,
      // The statuses as lambdas/api/health.py computes them from the figures above.
      status: "warn",
      checks: [
        { name: "stream_lag_ms", label: "Stream lag", value: 850, unit: "ms", warn_at: 10000, fail_at: 60000, status: "ok" },
        ...[["events", 0], ["stream_failures", 0], ["notify", 1]].map(([name, depth]) => (
          { name: `dlq_depth.${name}`, label: `DLQ ${name}`, value: depth, unit: "messages", warn_at: 1, fail_at: 100, status: depth >= 1 ? "warn" : "ok" })),
        ...[["processor", 0], ["notifier", 1], ["api", 0], ["poller", 0]].map(([name, count]) => (
          { name: `handler_errors.${name}`, label: `${name} errors (24 h)`, value: count, unit: "errors", warn_at: 1, fail_at: 10, status: count >= 1 ? "warn" : "ok" })),
      ],
    }];
  }
  if (parts[1] === "latest" && kinds[parts[2]]) {
    const keys = kinds[parts[2]];
    if (parts.length === 4) return keys.includes(parts[3]) ? [200, latestOf(parts[2], parts[3])] : [404, { message: `unknown key ${parts[3]}` }];
    const q = url.searchParams.get("q") ?? "";
    const keyPage = page(keys.filter((k) => k.startsWith(q)), url, "items", 100);
    return [200, { ...keyPage, items: keyPage.items.map((k) => latestOf(parts[2], k)) }];
  }
  if (parts[1] === "series" && kinds[parts[2]] && parts.length === 4) {
    if (!kinds[parts[2]].includes(parts[3])) return [404, { message: `unknown key ${parts[3]}` }];
    return [200, page(history(parts[2], parts[3]).filter((e) => inRange(e.ts, url)), url, "events")];
  }
  if (parts[1] === "alerts") {
    const kind = url.searchParams.get("kind");
    const key = url.searchParams.get("key");
    return [200, page(alerts().filter((a) => (!kind || a.kind === kind) && (!key || a.key === key) && inRange(a.ts, url)), url, "alerts")];
  }
  if (parts[1] === "rollups" && (parts[2] === "daily_ohlc" || parts[2] === "daily_weather")) {
    const key = url.searchParams.get("key");
    const from = Date.parse(url.searchParams.get("from") ?? iso(Date.now() - 14 * 86_400_000));
    const to = Date.parse(url.searchParams.get("to") ?? iso(Date.now()));
    const keys = parts[2] === "daily_ohlc" ? CONFIG.symbols.map((s) => s.symbol) : CITIES;
    const rows = [];
    for (let day = from; day <= to; day += 86_400_000) {
      for (const k of keys.filter((k) => !key || k === key)) {
        const d = iso(day).slice(0, 10);
        const s = hash(k + d) % 20;
        rows.push(parts[2] === "daily_ohlc"
          ? { symbol: k, day: d, open: 100 + s, high: 104 + s, low: 97 + s, close: 101 + s, volume: 100000 + s * 1000, trades: 390 }
          : { city: k, day: d, temp_min_c: 2 + s / 4, temp_max_c: 12 + s / 4, temp_avg_c: 7 + s / 4, precip_mm: s / 2, max_wind_mps: 5 + s / 5, observations: 1440 });
      }
    }
    return [200, { rows }];
  }
  return [404, { message: "no such endpoint" }];
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml" };

createServer((request, response) => {
  const url = new URL(request.url, `http://127.0.0.1:${PORT}`);
  const send = (status, body) => {
    response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    response.end(JSON.stringify(body));
  };
  if (url.pathname === "/dashboard/config.json") return send(200, { api_base: "", token: TOKEN, refresh_ms: 3000 });
  if (url.pathname.startsWith("/v1/")) {
    if (request.headers.authorization !== `Bearer ${TOKEN}`) return send(401, { message: "missing or bad token" });
    const [status, body] = api(url);
    return send(status, body);
  }
  const file = normalize(join(DIST, url.pathname === "/" ? "index.html" : url.pathname));
  if (!file.startsWith(DIST) || !existsSync(file) || !statSync(file).isFile()) return send(404, { message: "not found" });
  response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
  createReadStream(file).pipe(response);
}).listen(PORT, "127.0.0.1", () => console.log(`dev dashboard on http://127.0.0.1:${PORT}/ (canned data)`));
