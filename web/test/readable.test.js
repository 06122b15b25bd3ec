import assert from "node:assert/strict";
import { test } from "node:test";
import { csvField, csvFileName, toCsv } from "../src/lib/csv.js";
import { axisTimeLabels, formatNumber, formatSeconds, plainNumber } from "../src/lib/format.js";
import { parseRoute, routeHash } from "../src/lib/route.js";
import { daySplits, gapThreshold, insertGaps, previousCloseSteps } from "../src/lib/series.js";

const at = (text) => Date.parse(text) / 1000;

test("values are rounded for display and for CSV alike, without float noise", () => {
  assert.equal(formatNumber(249.63400000006135), "249.63");
  assert.equal(formatNumber(1234.5), "1,234.50");
  assert.equal(plainNumber(249.63400000006135), "249.63");
  assert.equal(plainNumber(12.25, 1), "12.3");
  assert.equal(plainNumber(1234.5), "1234.50");
  assert.equal(plainNumber(null), "");
});

test("chart times are 24-hour UTC, on the axes and on hover", () => {
  const splits = [at("2026-11-27T22:00:00Z"), at("2026-11-28T00:00:00Z"), at("2026-11-28T14:00:00Z")];
  assert.deepEqual(axisTimeLabels(splits, 7200), ["11-27 22:00", "11-28", "14:00"]);
  assert.deepEqual(axisTimeLabels([at("2026-11-28T13:05:10Z"), at("2026-11-28T13:05:40Z")], 30), ["11-28 13:05:10", "13:05:40"]);
  assert.deepEqual(axisTimeLabels([at("2026-11-27T00:00:00Z"), at("2026-11-28T00:00:00Z")], 86400), ["11-27", "11-28"]);
  assert.equal(formatSeconds(at("2026-11-28T23:59:01Z")), "2026-11-28 23:59:01 UTC");
  assert.equal(formatSeconds(null), "—");
});

test("gaps longer than the usual spacing break the line: nights and weekends are not joined", () => {
  // Given a minute series on Friday afternoon and Monday morning
  const friday = [0, 1, 2].map((m) => at("2026-11-27T20:57:00Z") + m * 60);
  const monday = [0, 1].map((m) => at("2026-11-30T14:30:00Z") + m * 60);
  const xs = [...friday, ...monday];
  const prices = [10, 11, 12, 13, 14];
  assert.equal(gapThreshold(xs), 15 * 60); // 5 × one minute is below the floor
  // When gaps are inserted
  const [gx, gy] = insertGaps([xs, prices]);
  // Then one null point sits between Friday's close and Monday's open, and nothing else changes
  assert.equal(gx.length, 6);
  assert.deepEqual(gy, [10, 11, 12, null, 13, 14]);
  assert.ok(gx[3] > friday[2] && gx[3] < monday[0]);
  // And a series with regular spacing is left alone
  const regular = [[0, 600, 1200, 1800], [1, 2, 3, 4]];
  assert.deepEqual(insertGaps(regular), regular);
  assert.deepEqual(insertGaps([[], []]), [[], []]);
  // A ten-minute series tolerates a missed poll but not an hour's outage
  assert.equal(gapThreshold([0, 600, 1200, 1800, 5400]), 3000);
});

test("the previous close is a step per local day", () => {
  const events = [
    { local_day: "2026-11-26", value: 198 },
    { local_day: "2026-11-26", value: 200 },
    { local_day: "2026-11-27", value: 190 },
    { local_day: "2026-11-27", value: 185 },
    { local_day: "2026-11-30", value: 170 },
  ];
  // the first day's previous close is before the range: unknown; Monday's is Friday's last price
  assert.deepEqual(previousCloseSteps(events), [null, null, 200, 200, 185]);
  // the latest item's previous close is the one in force on its day
  assert.deepEqual(previousCloseSteps(events, { knownDay: "2026-11-30", knownClose: 186 }), [null, null, 200, 200, 186]);
  assert.deepEqual(previousCloseSteps(events.slice(4), { knownDay: "2026-11-30", knownClose: 185 }), [185]);
});

test("day gridlines fall on midnights", () => {
  assert.deepEqual(daySplits(at("2026-11-27T12:00:00Z"), at("2026-11-30T00:00:00Z")), [
    at("2026-11-28T00:00:00Z"), at("2026-11-29T00:00:00Z"), at("2026-11-30T00:00:00Z"),
  ]);
  assert.deepEqual(daySplits(at("2026-11-01T00:00:00Z"), at("2026-11-07T00:00:00Z"), 3).length, 3);
});

test("CSV exports quote what needs quoting and keep the displayed rounding", () => {
  assert.equal(csvField('say "hi", then go'), '"say ""hi"", then go"');
  assert.equal(csvField(null), "");
  const text = toCsv(
    [{ label: "time (UTC)", csv: (r) => r.t }, { label: "price", csv: (r) => plainNumber(r.p) }],
    [{ t: "2026-11-30 14:30:00 UTC", p: 249.63400000006135 }, { t: "line\nbreak", p: null }],
  );
  assert.equal(text, 'time (UTC),price\r\n2026-11-30 14:30:00 UTC,249.63\r\n"line\nbreak",\r\n');
  assert.equal(csvFileName("stocks", "BRK.B", "24h"), "barometer-stocks-BRK.B-24h.csv");
  assert.equal(csvFileName("weather", "New York", ""), "barometer-weather-New_York.csv");
});

test("the range and the selection round-trip through the URL", () => {
  assert.equal(routeHash("stocks", "AAPL"), "#/stocks/AAPL");
  assert.equal(routeHash("stocks", "AAPL", { range: "3d" }), "#/stocks/AAPL?range=3d");
  assert.deepEqual(parseRoute("#/stocks/AAPL?range=3d"), { view: "stocks", key: "AAPL", params: { range: "3d" } });
  const rollups = routeHash("rollups", null, { table: "daily_weather", key: "New York", from: "2026-11-01", to: "", other: "x" });
  assert.equal(rollups, "#/rollups?table=daily_weather&key=New+York&from=2026-11-01");
  assert.deepEqual(parseRoute(rollups).params, { table: "daily_weather", key: "New York", from: "2026-11-01" });
  assert.deepEqual(parseRoute("#/alerts?kind=market&key=AAPL&range=7d").params, { kind: "market", key: "AAPL" });
  assert.deepEqual(parseRoute("#/nowhere?range=3d"), { view: "stocks", key: null, params: {} });
});
