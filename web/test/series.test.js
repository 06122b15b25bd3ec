import assert from "node:assert/strict";
import { test } from "node:test";
import { alertMarkers, dropBefore, fieldAccessor, mergeEvents, rollingAccessor, toColumns } from "../src/lib/series.js";

const event = (ts, value, id, extra = {}) => ({ ts, value, event_id: id, rolling: { "5m": value }, fields: {}, ...extra });

test("merging keeps one event per event_id in time order", () => {
  const known = [event("2026-11-24T15:01:00Z", 2, "b"), event("2026-11-24T15:00:00Z", 1, "a")];
  const incoming = [event("2026-11-24T15:01:00Z", 2, "b"), event("2026-11-24T14:59:00Z", 0, "late"), event("bad", 9, "x")];
  assert.deepEqual(mergeEvents(known, incoming).map((e) => e.event_id), ["late", "a", "b"]);
});

test("events before the chart's range are dropped", () => {
  const events = [event("2026-11-24T15:00:00Z", 1, "a"), event("2026-11-24T16:00:00Z", 2, "b")];
  assert.deepEqual(dropBefore(events, Date.parse("2026-11-24T15:30:00Z")).map((e) => e.event_id), ["b"]);
});

test("columns hold seconds and leave gaps for missing values", () => {
  const events = [event("2026-11-24T15:00:00Z", 1, "a", { fields: { precip_mm: 3 } }), event("2026-11-24T15:01:00Z", 2, "b", { rolling: {} })];
  const [xs, values, rolling, precip] = toColumns(events, [(e) => e.value, rollingAccessor("5m"), fieldAccessor("precip_mm")]);
  assert.deepEqual(xs, [Date.parse("2026-11-24T15:00:00Z") / 1000, Date.parse("2026-11-24T15:01:00Z") / 1000]);
  assert.deepEqual(values, [1, 2]);
  assert.deepEqual(rolling, [1, null]);
  assert.deepEqual(precip, [3, null]);
});

test("alert markers sit at the alert's time and value", () => {
  const alerts = [
    { ts: "2026-11-24T15:00:00Z", value: 170, rule: "market_drop", metric: undefined },
    { ts: "2026-11-24T15:00:00Z", value: 31, rule: "heavy_rain", metric: "precip_mm" },
    { ts: "not a time", value: 1, rule: "broken" },
  ];
  assert.deepEqual(alertMarkers(alerts, (a) => a.metric === "precip_mm"), [{ x: Date.parse("2026-11-24T15:00:00Z") / 1000, y: 31, label: "heavy_rain" }]);
  assert.equal(alertMarkers(alerts).length, 2);
});
