// The read API client: every call sends the bearer token; errors become ApiError with the server's message.

export class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.path = path;
  }
}

export function buildUrl(apiBase, path, params = {}) {
  const base = String(apiBase ?? "").replace(/\/+$/, "");
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(name, String(value));
  }
  const text = query.toString();
  return `${base}${path}${text ? `?${text}` : ""}`;
}

const segment = encodeURIComponent;

export function createApi({ apiBase = "", token = "", fetchImpl = (...args) => fetch(...args) } = {}) {
  let bearer = token;

  async function get(path, params) {
    const url = buildUrl(apiBase, path, params);
    let response;
    try {
      response = await fetchImpl(url, {
        headers: { Authorization: `Bearer ${bearer}`, Accept: "application/json" },
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, `cannot reach the API (${error.message})`, path);
    }
    if (!response.ok) {
      throw new ApiError(response.status, await errorMessage(response), path);
    }
    return response.json();
  }

  return {
    setToken(value) {
      bearer = value;
    },
    hasToken() {
      return Boolean(bearer);
    },
    config: () => get("/v1/config"),
    health: () => get("/v1/health"),
    latestList: (kind, { q, limit, next } = {}) => get(`/v1/latest/${segment(kind)}`, { q, limit, next }),
    latest: (kind, key) => get(`/v1/latest/${segment(kind)}/${segment(key)}`),
    series: (kind, key, { from, to, limit, next } = {}) =>
      get(`/v1/series/${segment(kind)}/${segment(key)}`, { from, to, limit, next }),
    alerts: ({ kind, key, from, to, limit, next } = {}) => get("/v1/alerts", { kind, key, from, to, limit, next }),
    rollups: (name, { key, from, to } = {}) => get(`/v1/rollups/${segment(name)}`, { key, from, to }),
  };
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    const message = body.message ?? body.error ?? body.detail;
    if (message) return typeof message === "string" ? message : JSON.stringify(message);
  } catch {
    // not JSON: fall back to the status text
  }
  return `${response.status} ${response.statusText}`.trim();
}

/** Follow `next` until `maxItems` are collected or the list ends; returns {items, truncated}. */
export async function collectPages(fetchPage, listField, maxItems) {
  const items = [];
  let next = null;
  do {
    const page = await fetchPage(next);
    items.push(...(page[listField] ?? []));
    next = page.next ?? null;
  } while (next && items.length < maxItems);
  return { items, truncated: Boolean(next) };
}
