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
   * scales: {y: {label, min0}, y2: {label, min0}} (the second scale gets the right-hand axis; min0 keeps 0 in view)
   * xPad: seconds of room around a lone point; xWindow: () => [from, to] in seconds, a fixed time window
   */
  constructor(container, { series, scales = { y: {} }, height = 260, xPad = 60, xWindow = null }) {
    this.container = container;
    this.height = height;
    this.scaleOptions = scales;
    this.xPad = xPad;
    this.xWindow = xWindow;
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
        // x is set explicitly after each setData (uPlot's own x autoscale ignores a range function)
        ["x", { time: true, auto: false }],
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
          points: spec.bars ? { show: false } : { size: 6 },
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
    this.plot.setData(columns, false);
    const [min, max] = this.xRange(xs.length ? xs[0] : null, xs.length ? xs[xs.length - 1] : null);
    this.plot.setScale("x", { min, max });
  }

  xRange(min, max) {
    if (this.xWindow) return this.xWindow();
    const values = [min, max, ...this.markers.map((marker) => marker.x)].filter((v) => typeof v === "number" && Number.isFinite(v));
    if (values.length === 0) {
      const now = Date.now() / 1000;
      return [now - 3600, now];
    }
    const low = Math.min(...values);
    const high = Math.max(...values);
    // Room on both sides so that the newest point and its alert marker are not cut at the edge.
    const pad = high === low ? this.xPad : Math.max((high - low) * 0.03, 1);
    return [low - pad, high + pad];
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
    if (this.scaleOptions[scale]?.min0) low = Math.min(0, Math.min(...values));
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
      ctx.textAlign = "left"; // uPlot leaves the axes' alignment on the context
      ctx.textBaseline = "alphabetic";
      // Above the line, unless that would leave the plot.
      const labelY = y - 16 * ratio < bbox.top ? y + 16 * ratio : y - 5 * ratio;
      ctx.fillText(line.label, bbox.left + 6 * ratio, labelY);
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
