// uPlot time charts with alert markers and horizontal reference lines drawn on top.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export const PALETTE = ["#1f4e99", "#a14d00", "#2e7d32", "#6a1b9a", "#00695c", "#8d6e00"];
export const ALERT_COLOR = "#c62828";
export const REFERENCE_COLOR = "#4a4a4a";

const utc = (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC");

export class TimeChart {
  /**
   * series: [{label, stroke, scale = "y", bars, dash, width}]
   * scales: {y: {label}, y2: {label, side: "right"}}
   */
  constructor(container, { series, scales = { y: {} }, height = 260 }) {
    this.container = container;
    this.height = height;
    this.markers = [];
    this.lines = [];
    const scaleNames = Object.keys(scales);
    const options = {
      width: Math.max(container.clientWidth, 320),
      height,
      tzDate: utc,
      cursor: { focus: { prox: 16 } },
      legend: { live: true },
      scales: Object.fromEntries([
        ["x", { time: true }],
        ...scaleNames.map((name) => [name, { range: (u, min, max) => this.range(name, min, max) }]),
      ]),
      axes: [
        { stroke: "#222", grid: { stroke: "#e3e3e3" } },
        ...scaleNames.map((name, i) => ({
          scale: name,
          label: scales[name].label,
          side: i === 0 ? 3 : 1,
          stroke: "#222",
          grid: { show: i === 0, stroke: "#e3e3e3" },
          size: 60,
        })),
      ],
      series: [
        { label: "time (UTC)" },
        ...series.map((spec) => ({
          label: spec.label,
          scale: spec.scale ?? scaleNames[0],
          stroke: spec.stroke,
          width: spec.width ?? 1.5,
          dash: spec.dash,
          fill: spec.bars ? `${spec.stroke}99` : undefined,
          paths: spec.bars ? uPlot.paths.bars({ size: [0.6, 24] }) : undefined,
          points: { show: spec.bars ? false : undefined },
          spanGaps: !spec.bars,
        })),
      ],
      hooks: { draw: [(u) => this.drawOverlays(u)] },
    };
    this.plot = new uPlot(options, [[], ...series.map(() => [])], container);
    // Resize on the next frame: resizing inside the observer's callback can loop ("ResizeObserver loop" errors).
    this.resizeObserver = new ResizeObserver(() => requestAnimationFrame(() => this.resize()));
    this.resizeObserver.observe(container);
  }

  /** markers: [{x, y, scale}]; lines: [{y, scale, label}] */
  setData(columns, { markers = [], lines = [] } = {}) {
    this.markers = markers;
    this.lines = lines.filter((line) => typeof line.y === "number" && Number.isFinite(line.y));
    const xs = columns[0];
    // Without points uPlot cannot pick an x range; markers alone still deserve a chart.
    if (xs.length === 0 && markers.length) {
      const markerXs = markers.map((marker) => marker.x);
      columns = [[Math.min(...markerXs) - 60, Math.max(...markerXs) + 60], ...columns.slice(1).map(() => [null, null])];
    }
    this.plot.setData(columns);
  }

  range(scale, min, max) {
    const extras = [
      ...this.lines.filter((line) => (line.scale ?? "y") === scale).map((line) => line.y),
      ...this.markers.filter((marker) => (marker.scale ?? "y") === scale).map((marker) => marker.y),
    ];
    const values = [min, max, ...extras].filter((v) => typeof v === "number" && Number.isFinite(v));
    if (values.length === 0) return [0, 1];
    let low = Math.min(...values);
    let high = Math.max(...values);
    const pad = high === low ? Math.max(Math.abs(high) * 0.05, 1) : (high - low) * 0.08;
    low -= pad;
    high += pad;
    if (scale !== "y" && Math.min(...values) >= 0) low = Math.max(0, low);
    return [low, high];
  }

  drawOverlays(u) {
    const { ctx, bbox } = u;
    const ratio = uPlot.pxRatio;
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
    ctx.clip();
    for (const line of this.lines) {
      const y = u.valToPos(line.y, line.scale ?? "y", true);
      ctx.strokeStyle = REFERENCE_COLOR;
      ctx.lineWidth = 1.5 * ratio;
      ctx.setLineDash([6 * ratio, 4 * ratio]);
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = REFERENCE_COLOR;
      ctx.font = `${12 * ratio}px system-ui, sans-serif`;
      ctx.fillText(line.label, bbox.left + 6 * ratio, y - 4 * ratio);
    }
    for (const marker of this.markers) {
      const x = u.valToPos(marker.x, "x", true);
      const y = u.valToPos(marker.y, marker.scale ?? "y", true);
      const size = 7 * ratio;
      ctx.fillStyle = ALERT_COLOR;
      ctx.strokeStyle = "#fff";
      ctx.lineWidth = 1.5 * ratio;
      ctx.beginPath(); // a downward triangle pointing at the value
      ctx.moveTo(x - size, y - 2 * size);
      ctx.lineTo(x + size, y - 2 * size);
      ctx.lineTo(x, y);
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    }
    ctx.restore();
  }

  resize() {
    if (!this.plot) return;
    const width = Math.max(this.container.clientWidth, 320);
    if (width !== this.plot.width) this.plot.setSize({ width, height: this.height });
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.plot.destroy();
    this.plot = null;
  }
}
