// Hash routes: #/stocks, #/stocks/AAPL, #/weather/New%20York, #/alerts, #/health, #/rollups.
export const VIEWS = ["stocks", "weather", "alerts", "health", "rollups"];

export function parseRoute(hash) {
  const parts = String(hash ?? "").replace(/^#\/?/, "").split("/").filter(Boolean);
  const view = VIEWS.includes(parts[0]) ? parts[0] : "stocks";
  let key = null;
  if (parts.length > 1 && parts[0] === view && (view === "stocks" || view === "weather")) {
    try {
      key = decodeURIComponent(parts.slice(1).join("/"));
    } catch {
      key = null;
    }
  }
  return { view, key };
}

export function routeHash(view, key = null) {
  return key ? `#/${view}/${encodeURIComponent(key)}` : `#/${view}`;
}
