// The shared shape of the stocks and weather views: a chart of the chosen key with its text
// alternative and alerts, above a searchable, paged table of the latest state of every key.
import { TimeChart, PALETTE } from "../chart.js";
import { h, csvButton, dataTable, deliveredText, factList, renderIfChanged, replaceChildren, timeText } from "../dom.js";
import { collectPages } from "../lib/api.js";
import { csvFileName, toCsv } from "../lib/csv.js";
import { describeAlert, formatTime, parseTs, toRfc3339 } from "../lib/format.js";
import { Pager } from "../lib/pager.js";
import { routeHash } from "../lib/route.js";
import { DEFAULT_RANGE, RANGES, dropBefore, mergeEvents, rangeMs, toColumns } from "../lib/series.js";

const PAGE_SIZE = 25;
const MAX_POINTS = 20_000;
const LATE_EVENTS_MS = 5 * 60_000; // re-read this much before the newest point to catch late events

/**
 * spec: {view, kind, alertKind, title, keyLabel, names(config) -> Map, columns(windows), charts(windows),
 *        facts(latest, windows), headline(latest)}
 */
export function createKeyedView(ctx, spec) {
  const state = {
    q: "",
    pager: new Pager(),
    items: [],
    selected: null,
    knownKeys: new Set(),
    range: DEFAULT_RANGE,
    seriesFor: null,
    events: [],
    truncated: false,
    charts: null,
  };
  const windows = ctx.config.windows ?? [];
  const names = spec.names(ctx.config);
  const id = (suffix) => `${spec.view}-${suffix}`;

  const searchInput = h("input", { type: "search", id: id("search"), autocomplete: "off", spellcheck: false, placeholder: spec.searchPlaceholder });
  let searchTimer = null;
  searchInput.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      state.q = searchInput.value.trim();
      state.pager.reset();
      ctx.refreshNow();
    }, 250);
  });
  const previousButton = h("button", { type: "button", onclick: () => state.pager.back() && ctx.refreshNow() }, "Previous page");
  const nextButton = h("button", { type: "button", onclick: () => state.pager.forward() && ctx.refreshNow() }, "Next page");
  const pageLabel = h("span", { class: "page-label", "aria-live": "polite" });
  const tableHolder = h("div", { class: "table-holder" });

  const rangeSelect = h(
    "select",
    // The range is part of the URL: changing it is a new history entry (the back button restores the previous).
    { id: id("range"), onchange: () => ctx.navigate(routeHash(spec.view, state.selected, rangeParams(rangeSelect.value))) },
    RANGES.map((range) => h("option", { value: range.name, selected: range.name === state.range }, range.label)),
  );
  const detailTitle = h("h3", { id: id("detail-title") });
  const headline = h("p", { class: "headline", dataset: { testid: `${spec.view}-headline` } });
  const detailMessage = h("p", { class: "message" });
  const chartSpecs = spec.charts(windows);
  const figures = chartSpecs.map((chartSpec, index) =>
    h(
      "figure",
      { class: "chart-figure", "aria-labelledby": id(`chart-${index}-caption`) },
      h("figcaption", { id: id(`chart-${index}-caption`) }, chartSpec.title, h("span", { class: "hint" }, " — the same values are in the tables below the chart")),
      h("div", { class: "chart", "aria-hidden": "true", dataset: { testid: `${spec.view}-chart-${index}` } }),
      chartSpec.note ? h("p", { class: "hint" }, chartSpec.note) : null,
    ),
  );
  const factsHolder = h("div", { class: "facts-holder" });
  const keyAlertsHolder = h("div", { class: "table-holder" });
  // Hidden until the chosen key has data, so an empty platform shows a message, not empty frames.
  const chartCsv = csvButton("Download the chart's data (CSV)", () => chartCsvFile());
  const tableCsv = csvButton("Download this page of the table (CSV)", () => tableCsvFile());
  const detailBody = h("div", { hidden: true }, figures, h("div", { class: "toolbar" }, chartCsv), h("h4", {}, "Latest values"), factsHolder, keyAlertsHolder);
  const detail = h(
    "div",
    { class: "detail", "aria-labelledby": id("detail-title"), role: "region" },
    h("div", { class: "detail-head" }, detailTitle, h("label", { class: "inline" }, "Range ", rangeSelect)),
    headline,
    detailMessage,
    detailBody,
  );

  const root = h(
    "section",
    { class: "view", id: id("view"), "aria-labelledby": id("title"), hidden: true },
    h("h2", { id: id("title") }, spec.title),
    detail,
    h(
      "div",
      { class: "list", role: "region", "aria-labelledby": id("list-title") },
      h("h3", { id: id("list-title") }, `Latest state of every ${spec.keySingular}`),
      h(
        "form",
        { class: "toolbar", role: "search", onsubmit: (event) => event.preventDefault() },
        h("label", { for: id("search") }, `Search ${spec.keyNoun} (prefix)`),
        searchInput,
      ),
      tableHolder,
      h("div", { class: "pager" }, previousButton, pageLabel, nextButton, tableCsv),
    ),
  );

  function ensureCharts() {
    if (state.charts) return;
    state.charts = chartSpecs.map((chartSpec, index) => {
      const container = figures[index].querySelector(".chart");
      const series = chartSpec.series.map((s, i) => ({ stroke: PALETTE[i % PALETTE.length], ...s }));
      return new TimeChart(container, { series, scales: chartSpec.scales, height: chartSpec.height ?? 260 });
    });
  }

  async function loadList() {
    const page = await ctx.api.latestList(spec.kind, { q: state.q, limit: PAGE_SIZE, next: state.pager.current });
    state.items = page.items ?? [];
    state.pager.loaded(page.next);
    for (const item of state.items) state.knownKeys.add(item.key);
    renderList();
  }

  function renderList() {
    const columns = [
      {
        label: spec.keyLabel,
        rowHeader: true,
        testid: "key",
        value: (item) =>
          h("a", { href: routeHash(spec.view, item.key, rangeParams(state.range)), dataset: { focusId: `key-${item.key}` }, "aria-current": item.key === state.selected ? "true" : null }, item.key),
      },
      ...spec.columns(windows, names),
    ];
    const signature = JSON.stringify([state.items, state.selected, state.q]);
    renderIfChanged(tableHolder, signature, () =>
      replaceChildren(
        tableHolder,
        dataTable({
          caption: state.q ? `${spec.title} starting with “${state.q}”` : `All ${spec.keyNoun} with data`,
          columns,
          rows: state.items,
          empty: state.q ? `No ${spec.keySingular} starts with “${state.q}”.` : `No ${spec.kind} events yet.`,
          rowAttrs: (item) => ({ dataset: { key: item.key }, class: item.key === state.selected ? "selected" : null }),
          testid: `${spec.view}-table`,
        }),
      ),
    );
    previousButton.disabled = !state.pager.hasPrevious;
    nextButton.disabled = !state.pager.hasNext;
    pageLabel.textContent = `Page ${state.pager.pageNumber}`;
  }

  async function findLatest(key) {
    if (state.knownKeys.has(key)) return ctx.api.latest(spec.kind, key);
    // Look the key up through the list first: asking for an unknown key answers 404.
    const page = await ctx.api.latestList(spec.kind, { q: key, limit: 10 });
    const match = (page.items ?? []).find((item) => item.key === key) ?? null;
    if (match) state.knownKeys.add(key);
    return match;
  }

  async function loadSeries(key, range) {
    const fromMs = Date.now() - rangeMs(range);
    const seriesFor = `${key}|${range}`;
    const last = state.events.at(-1);
    const incremental = state.seriesFor === seriesFor && last;
    const from = incremental ? Math.max(fromMs, parseTs(last.ts) - LATE_EVENTS_MS) : fromMs;
    const { items, truncated } = await collectPages(
      (next) => ctx.api.series(spec.kind, key, { from: toRfc3339(from), next }),
      "events",
      MAX_POINTS,
    );
    if (state.selected !== key || state.range !== range) return null; // another key or range was chosen meanwhile
    state.events = dropBefore(incremental ? mergeEvents(state.events, items) : mergeEvents([], items), fromMs);
    state.truncated = incremental ? state.truncated || truncated : truncated;
    state.seriesFor = seriesFor;
    return fromMs;
  }

  async function loadDetail() {
    const key = state.selected;
    const range = state.range;
    const movedOn = () => state.selected !== key || state.range !== range; // another key or range was chosen meanwhile
    if (!key) {
      detailTitle.textContent = `No ${spec.keySingular} selected`;
      headline.textContent = "";
      detailMessage.textContent = `Nothing to chart yet: no ${spec.kind} has reached the platform.`;
      detailBody.hidden = true;
      return;
    }
    detailTitle.textContent = names.get(key) ? `${key} — ${names.get(key)}` : key;
    const latest = await findLatest(key);
    if (movedOn()) return;
    if (!latest) {
      detail.removeAttribute("aria-busy");
      detailMessage.textContent = `No data for ${key} yet.`;
      replaceChildren(headline);
      detailBody.hidden = true;
      return;
    }
    const fromMs = await loadSeries(key, range);
    if (fromMs === null || movedOn()) return;
    const alertsPage = await ctx.api.alerts({ kind: spec.alertKind, key, from: toRfc3339(fromMs) });
    if (movedOn()) return;
    renderDetail(key, latest, alertsPage.alerts ?? []);
  }

  function renderDetail(key, latest, alerts) {
    state.latest = latest;
    detail.removeAttribute("aria-busy");
    detailBody.hidden = false;
    ensureCharts();
    replaceChildren(headline, spec.headline(latest));
    detailMessage.textContent = state.truncated
      ? `Showing the first ${state.events.length.toLocaleString("en-US")} events of this range; choose a shorter range to see the newest.`
      : state.events.length === 0
        ? `No ${spec.kind} events for ${key} in this range.`
        : "";
    chartSpecs.forEach((chartSpec, index) => {
      const columns = toColumns(state.events, chartSpec.series.map((s) => seriesAccessor(s, state.events, latest)));
      state.charts[index].setData(columns, {
        markers: chartSpec.markers(alerts),
        lines: chartSpec.lines ? chartSpec.lines(latest) : [],
      });
    });
    renderIfChanged(factsHolder, JSON.stringify(latest), () => replaceChildren(factsHolder, factList(spec.facts(latest, windows), `${spec.view}-latest`)));
    renderIfChanged(keyAlertsHolder, JSON.stringify(alerts), () =>
      replaceChildren(
        keyAlertsHolder,
        dataTable({
          caption: `Alerts for ${key} in this range, newest first`,
          columns: [
            { label: "Time", value: (a) => timeText(formatTime(a.ts)) },
            { label: "Rule", value: (a) => a.rule, testid: "rule" },
            { label: "What happened", optional: true, value: (a) => describeAlert(a) },
            { label: "Delivered", value: (a) => deliveredText(a.delivered, { prefix: false }) },
          ],
          rows: alerts,
          empty: `No alerts for ${key} in this range.`,
          testid: `${spec.view}-key-alerts`,
        }),
      ),
    );
  }

  function rangeParams(range) {
    return range && range !== DEFAULT_RANGE ? { range } : {};
  }

  function chartCsvFile() {
    const columns = [
      { label: "time (UTC)", csv: (e) => formatTime(e.ts) },
      ...spec.csvColumns(windows),
    ];
    return { name: csvFileName(spec.view, state.selected, state.range), text: toCsv(columns, state.events) };
  }

  function tableCsvFile() {
    const columns = [{ label: spec.keyLabel, csv: (item) => item.key }, ...spec.columns(windows, names)].map((column) => ({
      label: column.label,
      csv: column.csv ?? ((item) => cellText(column.value(item))),
    }));
    return { name: csvFileName(spec.view, "latest", state.q ? `${state.q}-prefix` : "", `page${state.pager.pageNumber}`), text: toCsv(columns, state.items) };
  }

  /** Until the new key's (or range's) data arrives, say so rather than show the previous one's. */
  function showLoading() {
    state.seriesFor = null;
    state.events = [];
    state.latest = null;
    detail.setAttribute("aria-busy", "true");
    detailBody.hidden = true;
    replaceChildren(headline);
    replaceChildren(factsHolder);
    replaceChildren(keyAlertsHolder);
    delete factsHolder.dataset.signature;
    delete keyAlertsHolder.dataset.signature;
    state.charts?.forEach((chart, index) => chart.setData(toColumns([], chartSpecs[index].series.map(() => () => null))));
    const range = RANGES.find((r) => r.name === state.range);
    detailMessage.textContent = `Loading ${state.selected ?? spec.keySingular} (${(range?.label ?? state.range).toLowerCase()})…`;
  }

  return {
    name: spec.view,
    element: root,
    show({ key, params = {} }) {
      root.hidden = false;
      const range = RANGES.some((r) => r.name === params.range) ? params.range : DEFAULT_RANGE;
      rangeSelect.value = range;
      const keyChanged = key && key !== state.selected;
      const rangeChanged = range !== state.range;
      state.range = range;
      if (keyChanged) state.selected = key;
      if (keyChanged || (rangeChanged && state.selected)) showLoading();
    },
    hide() {
      root.hidden = true;
    },
    async refresh() {
      await loadList();
      if (!state.selected && state.items.length) state.selected = state.items[0].key;
      renderList();
      await loadDetail();
    },
  };
}

/** The chart's column for a series: its accessor per event, or a column computed over all events. */
function seriesAccessor(seriesSpec, events, latest) {
  if (!seriesSpec.column) return seriesSpec.accessor;
  const column = seriesSpec.column(events, latest);
  const byEvent = new Map(events.map((event, i) => [event, column[i]]));
  return (event) => byEvent.get(event) ?? null;
}

function cellText(value) {
  return value instanceof Node ? value.textContent : value === null || value === undefined ? "" : String(value);
}
