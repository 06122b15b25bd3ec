// Pipeline health: the local counterpart of the CloudWatch dashboard.
import { TimeChart } from "../chart.js";
import { h, simpleView, dataTable, factList, renderIfChanged, replaceChildren } from "../dom.js";
import { formatDuration, formatInteger, formatTime, parseTs } from "../lib/format.js";

const RECENT_MINUTES = 10;
const WINDOW_MINUTES = 60; // the chart shows the last hour

export function createHealthView(ctx) {
  let chart = null;
  const figuresHolder = h("div", { class: "health-grid" });
  const chartContainer = h("div", { class: "chart", "aria-hidden": "true", dataset: { testid: "health-chart" } });
  const minutesHolder = h("div", { class: "table-holder" });
  const reasonsHolder = h("div", { class: "table-holder" });

  const root = h(
    "section",
    { class: "view", id: "health-view", "aria-labelledby": "health-title", hidden: true },
    h("h2", { id: "health-title" }, "Pipeline health"),
    figuresHolder,
    h(
      "figure",
      { class: "chart-figure", "aria-labelledby": "health-chart-caption" },
      h("figcaption", { id: "health-chart-caption" }, "Events in per minute, last hour", h("span", { class: "hint" }, " — the last minutes are in the table below")),
      chartContainer,
    ),
    h("div", { class: "two-columns" }, minutesHolder, reasonsHolder),
  );

  function render(health) {
    const dlq = health.dlq_depth ?? {};
    const errors = health.handler_errors ?? {};
    const signature = JSON.stringify(health);
    renderIfChanged(figuresHolder, signature, () =>
      replaceChildren(
        figuresHolder,
        h(
          "div",
          { class: "card" },
          h("h3", {}, "Flow"),
          factList(
            [
              ["Events in", formatInteger(health.events_in_total), "events_in_total"],
              ["Processed", formatInteger(health.processed_total), "processed_total"],
              ["Quarantined", formatInteger(health.quarantined_total), "quarantined_total"],
              ["Alerts sent", formatInteger(health.alerts_sent), "alerts_sent"],
              ["Stream lag", formatDuration(health.stream_lag_ms), "stream_lag_ms"],
            ],
            "health-flow",
          ),
        ),
        h(
          "div",
          { class: "card" },
          h("h3", {}, "Dead-letter queues (depth)"),
          factList(Object.entries(dlq).map(([name, depth]) => [name, formatInteger(depth), `dlq-${name}`]), "health-dlq"),
        ),
        h(
          "div",
          { class: "card" },
          h("h3", {}, "Handler errors"),
          factList(Object.entries(errors).map(([name, count]) => [name, formatInteger(count), `errors-${name}`]), "health-errors"),
        ),
      ),
    );

    const minutes = [...(health.events_in_per_min ?? [])]
      .filter((m) => parseTs(m.minute) !== null)
      .sort((a, b) => parseTs(a.minute) - parseTs(b.minute));
    chart ??= new TimeChart(chartContainer, {
      series: [{ label: "events in", bars: true, stroke: "#1f4e99" }],
      scales: { y: { label: "events", min0: true } },
      height: 200,
      xWindow: () => {
        const minute = Math.floor(Date.now() / 60_000) * 60;
        return [minute - WINDOW_MINUTES * 60, minute + 60];
      },
    });
    chart.setData([minutes.map((m) => parseTs(m.minute) / 1000), minutes.map((m) => m.count)]);

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
