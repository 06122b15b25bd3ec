import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError, buildUrl, collectPages, createApi } from "../src/lib/api.js";
import { Pager } from "../src/lib/pager.js";
import { parseRoute, routeHash } from "../src/lib/route.js";

test("URLs join the API base, escape keys and skip empty parameters", async () => {
  const calls = [];
  const api = createApi({
    apiBase: "https://abc.execute-api.eu-west-1.amazonaws.com/prod/",
    token: "t0k",
    fetchImpl: async (url, init) => {
      calls.push([url, init.headers.Authorization]);
      return { ok: true, json: async () => ({ events: [], next: null }) };
    },
  });
  await api.series("weather", "New York", { from: "2026-11-24T00:00:00Z", next: null });
  assert.deepEqual(calls, [["https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/series/weather/New%20York?from=2026-11-24T00%3A00%3A00Z", "Bearer t0k"]]);
  assert.equal(buildUrl("", "/v1/alerts", { kind: "", key: undefined, limit: 50 }), "/v1/alerts?limit=50");
});

test("errors carry the status and the server's message", async () => {
  const api = createApi({
    fetchImpl: async () => ({ ok: false, status: 400, statusText: "Bad Request", json: async () => ({ message: "from: not RFC 3339" }) }),
  });
  await assert.rejects(api.health(), (error) => error instanceof ApiError && error.status === 400 && error.message === "from: not RFC 3339");
  const offline = createApi({ fetchImpl: async () => { throw new TypeError("Failed to fetch"); } });
  await assert.rejects(offline.health(), (error) => error.status === 0 && /cannot reach the API/.test(error.message));
});

test("collecting pages follows next until the cap", async () => {
  const pages = { null: { events: [1, 2], next: "p2" }, p2: { events: [3, 4], next: "p3" }, p3: { events: [5], next: null } };
  assert.deepEqual(await collectPages(async (next) => pages[next], "events", 100), { items: [1, 2, 3, 4, 5], truncated: false });
  assert.deepEqual(await collectPages(async (next) => pages[next], "events", 3), { items: [1, 2, 3, 4], truncated: true });
});

test("the pager walks forward with opaque tokens and back again", () => {
  const pager = new Pager();
  assert.equal(pager.forward(), false);
  pager.loaded("opaque-2");
  assert.equal(pager.forward(), true);
  assert.equal(pager.current, "opaque-2");
  assert.equal(pager.pageNumber, 2);
  pager.loaded(null);
  assert.equal(pager.hasNext, false);
  assert.equal(pager.back(), true);
  assert.equal(pager.current, null);
});

test("routes round-trip keys with spaces", () => {
  assert.deepEqual(parseRoute(routeHash("weather", "New York")), { view: "weather", key: "New York", params: {} });
  assert.deepEqual(parseRoute("#/alerts"), { view: "alerts", key: null, params: {} });
  assert.deepEqual(parseRoute(""), { view: "stocks", key: null, params: {} });
  assert.deepEqual(parseRoute("#/nowhere/x"), { view: "stocks", key: null, params: {} });
  assert.deepEqual(parseRoute("#/stocks/%E0%A4%A"), { view: "stocks", key: null, params: {} });
});

test("a refused token is renewed once from the page's configuration and the call retried", async () => {
  // Given an API that accepts only the fresh token, and a configuration that hands it out
  const seen = [];
  let renewals = 0;
  const api = createApi({
    token: "expired",
    fetchImpl: async (url, init) => {
      const token = init.headers.Authorization.slice("Bearer ".length);
      seen.push(token);
      return token === "fresh"
        ? { ok: true, status: 200, json: async () => ({ ok: 1 }) }
        : { ok: false, status: 401, statusText: "Unauthorized", json: async () => ({ message: "the token has expired" }) };
    },
    renewToken: async () => {
      renewals += 1;
      return "fresh";
    },
  });
  // When two calls meet the 401 at the same time
  const answers = await Promise.all([api.health(), api.config()]);
  // Then one renewal served both, each call was retried once, and the new token is kept
  assert.deepEqual(answers, [{ ok: 1 }, { ok: 1 }]);
  assert.equal(renewals, 1);
  assert.deepEqual(seen.sort(), ["expired", "expired", "fresh", "fresh"]);
  assert.equal(api.token, "fresh");
});

test("when the configuration has no better token the 401 reaches the page", async () => {
  let calls = 0;
  const refuse = async () => {
    calls += 1;
    return { ok: false, status: 401, statusText: "Unauthorized", json: async () => ({ message: "invalid token" }) };
  };
  const same = createApi({ token: "t", fetchImpl: refuse, renewToken: async () => "t" });
  await assert.rejects(same.health(), (error) => error.status === 401);
  assert.equal(calls, 1); // not retried with the same token
  const failing = createApi({ token: "t", fetchImpl: refuse, renewToken: async () => { throw new Error("offline"); } });
  await assert.rejects(failing.health(), (error) => error.status === 401);
  const fresh = createApi({ token: "t", fetchImpl: refuse, renewToken: async () => "u" });
  calls = 0;
  await assert.rejects(fresh.health(), (error) => error.status === 401 && error.message === "invalid token");
  assert.equal(calls, 2); // retried once, never more
});
