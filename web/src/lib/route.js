// Hash routes with the view's state: #/stocks, #/stocks/AAPL?range=3d, #/weather/New%20York,
// #/alerts?kind=market&key=AAPL, #/health, #/rollups?table=daily_weather&key=Seattle&from=…&to=….
// The state lives in the URL so a view can be shared and the back button goes back.
export const VIEWS = ["stocks", "weather", "alerts", "health", "rollups"];

// The parameters each view keeps in its URL (anything else is ignored).
export const VIEW_PARAMS = {
  stocks: ["range"],
  weather: ["range"],
  alerts: ["kind", "key"],
  health: [],
  rollups: ["table", "key", "from", "to"],
};

export function parseRoute(hash) {
  const text = String(hash ?? "").replace(/^#\/?/, "");
  const [path, query = ""] = text.split(/\?(.*)/s);
  const parts = path.split("/").filter(Boolean);
  const view = VIEWS.includes(parts[0]) ? parts[0] : "stocks";
  let key = null;
  if (parts.length > 1 && parts[0] === view && (view === "stocks" || view === "weather")) {
    try {
      key = decodeURIComponent(parts.slice(1).join("/"));
    } catch {
      key = null;
    }
  }
  const params = {};
  if (view === parts[0]) {
    const search = new URLSearchParams(query);
    for (const name of VIEW_PARAMS[view]) {
      const value = search.get(name);
      if (value !== null && value !== "") params[name] = value;
    }
  }
  return { view, key, params };
}

export function routeHash(view, key = null, params = {}) {
  const search = new URLSearchParams();
  for (const name of VIEW_PARAMS[view] ?? []) {
    const value = params?.[name];
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const query = search.toString();
  return `${key ? `#/${view}/${encodeURIComponent(key)}` : `#/${view}`}${query ? `?${query}` : ""}`;
}
