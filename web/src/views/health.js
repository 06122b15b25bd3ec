// Pipeline health: the local counterpart of the CloudWatch dashboard.
import { TimeChart } from "../chart.js";
import { h, csvButton, simpleView, dataTable, renderIfChanged, replaceChildren } from "../dom.js";
import { csvFileName, toCsv } from "../lib/csv.js";
import { formatDuration, formatInteger, formatTime, parseTs } from "../lib/format.js";

const STATUS_WORDS = { ok: "OK", warn: "warning", fail: "failing", unknown: "unknown" };

/** "warn ≥ 10.0 s · fail ≥ 1.0 min" in the figure's own unit. */
export function thresholdText(check) {
  if (!check) return "";
  const show = check.unit === "ms" ? formatDuration : formatInteger;
  return `warn ≥ ${show(check.warn_at)} · fail ≥ ${show(check.fail_at)}`;
}

function statusBadge(status, testid) {
  const known = STATUS_WORDS[status] ? status : "unknown";
  return h("span", { class: `status-${known}`, dataset: testid ? { status: known, testid } : { status: known } }, STATUS_WORDS[known]);
}

/** Facts with, when the API gives one, each figure's status and thresholds (the colour is never the only sign). */
function checkedFacts(pairs, checksByName, testid) {
  return h(
    "dl",
    { class: "facts", dataset: { testid } },
    pairs.map(([label, value, id, checkName]) => {
      const check = checkName ? checksByName.get(checkName) : undefined;
      return h(
        "div",
        { dataset: { fact: id }, class: check ? `level-${check.status}` : null },
        h("dt", {}, label, check ? statusBadge(check.status) : null),
        h("dd", {}, value),
        check ? h("span", { class: "threshold" }, thresholdText(check)) : null,
      );
    }),
  );
}

const RECENT_MINUTES = 10;
const WINDOW_MINUTES = 60; // the chart shows the last hour

export function createHealthView(ctx) {
  let chart = null;
  const figuresHolder = h("div", { class: "health-grid" });
  const overallHolder = h("p", { class: "headline", dataset: { testid: "health-status" } });
  let shownMinutes = [];
  const chartContainer = h("div", { class: "chart", "aria-hidden": "true", dataset: { testid: "health-chart" } });
  const minutesHolder = h("div", { class: "table-holder" });
  const reasonsHolder = h("div", { class: "table-holder" });

  const root = h(
    "section",
    { class: "view", id: "health-view", "aria-labelledby": "health-title", hidden: true },
    h("h2", { id: "health-title" }, "Pipeline health"),
    overallHolder,
    figuresHolder,
    h(
      "figure",
      { class: "chart-figure", "aria-labelledby": "health-chart-caption" },
      h("figcaption", { id: "health-chart-caption" }, "Events in per minute, last hour", h("span", { class: "hint" }, " — the last minutes are in the table below")),
      chartContainer,
    ),
    h("div", { class: "two-columns" }, minutesHolder, reasonsHolder),
    h(
      "div",
      { class: "toolbar" },
      csvButton("Download events in per minute (CSV)", () => ({
        name: csvFileName("health", "events-in-per-minute"),
        text: toCsv([{ label: "minute (UTC)", csv: (m) => formatTime(m.minute) }, { label: "events", csv: (m) => m.count }], shownMinutes),
      })),
    ),
  );

  function render(health) {
    const dlq = health.dlq_depth ?? {};
    const errors = health.handler_errors ?? {};
    const checksByName = new Map((health.checks ?? []).map((check) => [check.name, check]));
    const signature = JSON.stringify({ ...health, as_of: undefined });
    renderIfChanged(overallHolder, JSON.stringify([health.status, health.as_of?.slice(0, 16)]), () =>
      replaceChildren(
        overallHolder,
        "Pipeline status ",
        health.status ? statusBadge(health.status, "health-overall") : "—",
        h("span", { class: "muted" }, ` · as of ${formatTime(health.as_of)} · the stream lag is the age of the oldest record not processed yet (0 when drained)`),
      ),
    );
    renderIfChanged(figuresHolder, signature, () =>
      replaceChildren(
        figuresHolder,
        h(
          "div",
          { class: "card" },
          h("h3", {}, "Flow (24 h)"),
          checkedFacts(
            [
              ["Events in", formatInteger(health.events_in_total), "events_in_total"],
              ["Processed", formatInteger(health.processed_total), "processed_total"],
              ["Quarantined", formatInteger(health.quarantined_total), "quarantined_total"],
              ["Alerts sent", formatInteger(health.alerts_sent), "alerts_sent"],
              ["Stream lag (now)", formatDuration(health.stream_lag_ms), "stream_lag_ms", "stream_lag_ms"],
            ],
            checksByName,
            "health-flow",
          ),
        ),
        h(
          "div",
          { class: "card" },
          h("h3", {}, "Dead-letter queues (depth)"),
          checkedFacts(Object.entries(dlq).map(([name, depth]) => [name, formatInteger(depth), `dlq-${name}`, `dlq_depth.${name}`]), checksByName, "health-dlq"),
        ),
        h(
          "div",
          { class: "card" },
          h("h3", {}, "Handler errors (24 h)"),
          checkedFacts(Object.entries(errors).map(([name, count]) => [name, formatInteger(count), `errors-${name}`, `handler_errors.${name}`]), checksByName, "health-errors"),
        ),
      ),
    );

    const minutes = [...(health.events_in_per_min ?? [])]
      .filter((m) => parseTs(m.minute) !== null)
      .sort((a, b) => parseTs(a.minute) - parseTs(b.minute));
    chart ??= new TimeChart(chartContainer, {
      series: [{ label: "events in", bars: true, stroke: "#1f4e99", digits: 0 }],
      gaps: false,
      scales: { y: { label: "events", min0: true } },
      height: 200,
      xWindow: () => {
        const minute = Math.floor(Date.now() / 60_000) * 60;
        return [minute - WINDOW_MINUTES * 60, minute + 60];
      },
    });
    chart.setData([minutes.map((m) => parseTs(m.minute) / 1000), minutes.map((m) => m.count)]);

    shownMinutes = minutes.slice(-RECENT_MINUTES).reverse();
    renderIfChanged(minutesHolder, JSON.stringify(minutes.slice(-RECENT_MINUTES)), () =>
      replaceChildren(
        minutesHolder,
        dataTable({
          caption: `Events in, last ${RECENT_MINUTES} minutes with events`,
          columns: [
            { label: "Minute", value: (m) => formatTime(m.minute) },
            { label: "Events", numeric: true, value: (m) => formatInteger(m.count) },
          ],
          rows: minutes.slice(-RECENT_MINUTES).reverse(),
          empty: "No events yet.",
          testid: "health-minutes",
        }),
      ),
    );
    const reasons = [...(health.quarantine_reasons ?? [])].sort((a, b) => b.count - a.count).slice(0, 10);
    renderIfChanged(reasonsHolder, JSON.stringify(reasons), () =>
      replaceChildren(
        reasonsHolder,
        dataTable({
          caption: "Most common quarantine reasons",
          columns: [
            { label: "Reason", value: (r) => r.reason },
            { label: "Records", numeric: true, value: (r) => formatInteger(r.count) },
          ],
          rows: reasons,
          empty: "Nothing quarantined.",
          testid: "health-reasons",
        }),
      ),
    );
  }

  return simpleView("health", root, async () => {
    render(await ctx.api.health());
  });
}
