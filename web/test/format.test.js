import assert from "node:assert/strict";
import { test } from "node:test";
import { describeAlert, formatDelivered, formatPct, formatTime, parseTs, windowSeconds } from "../src/lib/format.js";

test("percent change carries its sign in text, not only in colour", () => {
  assert.equal(formatPct(-15), "−15.00%");
  assert.equal(formatPct(2.5), "+2.50%");
  assert.equal(formatPct(0), "0.00%");
  assert.equal(formatPct(null), "—");
});

test("times are shown in UTC whatever the browser's zone", () => {
  assert.equal(formatTime("2026-11-24T15:04:05Z"), "2026-11-24 15:04:05 UTC");
  assert.equal(formatTime("2026-11-24T15:04:05.123456Z"), "2026-11-24 15:04:05 UTC");
  assert.equal(formatTime("2026-11-24T10:04:05-05:00"), "2026-11-24 15:04:05 UTC");
  assert.equal(formatTime("yesterday"), "—");
  assert.equal(parseTs(undefined), null);
});

test("rolling window names follow barometer.yaml units", () => {
  assert.equal(windowSeconds("5m"), 300);
  assert.equal(windowSeconds("24h"), 86400);
  assert.equal(windowSeconds("2d"), 172800);
  assert.equal(windowSeconds("5 minutes"), null);
});

test("delivery state reads the delivered map", () => {
  assert.deepEqual(formatDelivered({}), { delivered: false, text: "not yet" });
  assert.deepEqual(formatDelivered(undefined), { delivered: false, text: "not yet" });
  assert.deepEqual(formatDelivered({ slack: "2026-11-24T15:04:06Z" }), { delivered: true, text: "slack 2026-11-24 15:04:06 UTC" });
});

test("alerts are described by their kind", () => {
  assert.equal(
    describeAlert({ kind: "market", value: 170, reference_price: 200, change_pct: -15 }),
    "price 170.00 vs previous close 200.00 (−15.00%)",
  );
  assert.equal(describeAlert({ kind: "weather", metric: "precip_mm", op: ">=", value: 31.2, threshold: 30 }), "precip_mm 31.2 >= 30.0");
});
