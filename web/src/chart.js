// uPlot time charts with alert markers, horizontal reference lines and daily candlesticks drawn on top.
// Times are 24-hour UTC on the axis and on hover; lines break where the data has a gap (nights,
// weekends, outages) instead of joining across it.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { axisTimeLabels, formatNumber, formatSeconds } from "./lib/format.js";
import { daySplits, insertGaps } from "./lib/series.js";

export const PALETTE = ["#1f4e99", "#a14d00", "#2e7d32", "#6a1b9a", "#00695c", "#8d6e00"];
export const ALERT_COLOR = "#c62828";
export const REFERENCE_COLOR = "#4a4a4a";
export const CANDLE_UP = "#1b5e20";
export const CANDLE_DOWN = "#b71c1c";

const utc = (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC");

export class TimeChart {
  /**
   * series: [{label, stroke, scale = "y", bars, dash, width, step, digits, hidden}] (step: a stepped line;
   *   digits: decimals on hover; hidden: no line of its own, e.g. the open/high/low/close of candlesticks)
   * scales: {y: {label, min0}, y2: {label, min0}} (the second scale gets the right-hand axis; min0 keeps 0 in view)
   * xPad: seconds of room around a lone point; xWindow: () => [from, to] in seconds, a fixed time window
   * gaps: break lines where points are further apart than usual (lib/series.js insertGaps)
   * days: a gridline per day, labels without the time of day
   * candles: {open, high, low, close} series indexes (1-based) drawn as daily candlesticks
   */
  constructor(container, { series, scales = { y: {} }, height = 260, xPad = 60, xWindow = null, gaps = true, days = false, candles = null }) {
    this.container = container;
    this.height = height;
    this.scaleOptions = scales;
    this.xPad = xPad;
    this.xWindow = xWindow;
    this.gaps = gaps;
    this.candles = candles;
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
        {
          stroke: "#222",
          grid: { stroke: "#e3e3e3" },
          space: 80, // room for a "MM-DD HH:MM" label
          values: (u, splits, axisIdx, space, step) => axisTimeLabels(splits, days ? 86_400 : step),
          ...(days ? { splits: (u, axisIdx, min, max) => daySplits(min, max, Math.max(1, Math.ceil((max - min) / 86_400 / 12))) } : {}),
        },
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
        { label: "time (UTC)", value: (u, seconds) => (days ? formatSeconds(seconds).slice(0, 10) : formatSeconds(seconds)) },
        ...series.map((spec) => ({
          label: spec.label,
          scale: spec.scale ?? scaleNames[0],
          stroke: spec.stroke,
          width: spec.width ?? 1.5,
          dash: spec.dash,
          fill: spec.bars ? `${spec.stroke}99` : undefined,
          paths: spec.hidden ? () => null : spec.bars ? uPlot.paths.bars({ size: [0.6, 24] }) : spec.step ? uPlot.paths.stepped({ align: 1 }) : undefined,
          points: spec.bars || spec.hidden || spec.step ? { show: false } : { size: 6 },
          value: (u, v) => formatNumber(v, spec.digits ?? 2),
          spanGaps: false, // a null is a gap: insertGaps puts one wherever the data pauses
        })),
      ],
      hooks: { draw: [(u) => this.drawCandles(u), (u) => this.drawOverlays(u)] },
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
    const data = this.gaps ? insertGaps(columns) : columns;
    this.container.dataset.points = String(columns[0].length);
    this.container.dataset.gaps = String(data[0].length - columns[0].length);
    const xs = columns[0];
    this.plot.setData(data, false);
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

  drawCandles(u) {
    if (!this.candles) return;
    const { open, high, low, close } = this.candles;
    const { ctx, bbox, data } = u;
    const ratio = uPlot.pxRatio;
    const xs = data[0];
    // As wide as 60% of a day, at least 3 px.
    const dayWidth = xs.length ? Math.abs(u.valToPos(xs[0] + 86_400, "x", true) - u.valToPos(xs[0], "x", true)) : 0;
    const half = Math.max(1.5 * ratio, Math.min(dayWidth * 0.3, 24 * ratio));
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
    ctx.clip();
    let drawn = 0;
    for (let i = 0; i < xs.length; i += 1) {
      const [o, h, l, c] = [data[open][i], data[high][i], data[low][i], data[close][i]];
      if (![o, h, l, c].every((v) => typeof v === "number" && Number.isFinite(v))) continue;
      const x = u.valToPos(xs[i], "x", true);
      const up = c >= o;
      ctx.strokeStyle = up ? CANDLE_UP : CANDLE_DOWN;
      ctx.fillStyle = up ? "#ffffff" : CANDLE_DOWN;
      ctx.lineWidth = 1.5 * ratio;
      ctx.beginPath(); // the wick, from the low to the high
      ctx.moveTo(x, u.valToPos(h, "y", true));
      ctx.lineTo(x, u.valToPos(l, "y", true));
      ctx.stroke();
      const top = u.valToPos(Math.max(o, c), "y", true);
      const bottom = u.valToPos(Math.min(o, c), "y", true);
      const height = Math.max(bottom - top, 1 * ratio);
      ctx.fillRect(x - half, top, 2 * half, height); // the body, from the open to the close (hollow when up)
      ctx.strokeRect(x - half, top, 2 * half, height);
      drawn += 1;
    }
    ctx.restore();
    this.container.dataset.candles = String(drawn);
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
