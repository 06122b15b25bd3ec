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

/**
 * renewToken: async () -> a fresh token or "" (the page re-reads dashboard/config.json). On a 401 the
 * call is retried once with a renewed token that differs from the refused one; otherwise the 401 is thrown.
 * Concurrent 401s share one renewal.
 */
export function createApi({ apiBase = "", token = "", fetchImpl = (...args) => fetch(...args), renewToken = null } = {}) {
  let bearer = token;
  let renewing = null;

  async function send(url, path) {
    try {
      return await fetchImpl(url, {
        headers: { Authorization: `Bearer ${bearer}`, Accept: "application/json" },
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, `cannot reach the API (${error.message})`, path);
    }
  }

  async function renewed(refused) {
    if (!renewToken) return false;
    if (bearer !== refused) return true; // another call renewed it meanwhile
    renewing ??= Promise.resolve()
      .then(() => renewToken())
      .catch(() => "")
      .finally(() => {
        renewing = null;
      });
    const fresh = await renewing;
    if (fresh && fresh !== refused) {
      bearer = fresh;
      return true;
    }
    return bearer !== refused;
  }

  async function get(path, params) {
    const url = buildUrl(apiBase, path, params);
    const used = bearer;
    let response = await send(url, path);
    if (response.status === 401 && (await renewed(used))) response = await send(url, path);
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
    get token() {
      return bearer;
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
