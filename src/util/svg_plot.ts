// Small SVG line charts (training curves, per-frame metrics) and labelled scatter plots (the
// perception-distortion plane). Hand-written because every Node
// plotting library we looked at needs a canvas, a browser or a large runtime; an SVG is plain text,
// opens anywhere, and sharp turns it into a PNG.
export interface Series {
  name: string;
  points: Array<[number, number]>;
  /** Text beside each point (same order as points); a labelled series always shows its markers. */
  labels?: string[];
  /** Join the points with a line (default true); false draws markers only. */
  line?: boolean;
  /** Draw each point as a bar from 0 (bar series share each x side by side). */
  bars?: boolean;
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logY?: boolean;
  /** Names for the whole-number x positions (categories, e.g. methods) instead of numeric ticks. */
  xTickLabels?: string[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Ticks for a log axis spanning log10 values [lo, hi]: decades, or 1-2-5 steps when under two decades fit. */
function logTicks(lo: number, hi: number): number[] {
  const inRange = (v: number) => Math.log10(v) >= lo && Math.log10(v) <= hi;
  const decades: number[] = [];
  for (let k = Math.ceil(lo); k <= Math.floor(hi); k++) decades.push(10 ** k);
  if (decades.length >= 2) return decades;
  const out: number[] = [];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) for (const m of [1, 2, 5]) if (inRange(m * 10 ** k)) out.push(Number((m * 10 ** k).toPrecision(6)));
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-2 ? v.toExponential(0) : String(Number(v.toPrecision(3)));
}

function panelSvg(p: Panel, x0: number, y0: number, w: number, h: number): string {
  const m = { l: 64, r: 150, t: 28, b: 40 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const pts = p.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!p.logY || y > 0));
  const parts: string[] = [`<text x="${x0 + m.l}" y="${y0 + 18}" font-size="14" font-weight="bold">${esc(p.title)}</text>`];
  if (pts.length === 0) {
    parts.push(`<text x="${x0 + m.l + 10}" y="${y0 + m.t + ph / 2}" font-size="12" fill="#777">no data yet</text>`);
    return parts.join('');
  }
  const ty = (v: number) => (p.logY ? Math.log10(v) : v);
  let xmin = Math.min(...pts.map((q) => q[0]));
  let xmax = Math.max(...pts.map((q) => q[0]));
  if (p.series.some((s) => s.labels)) {
    // room for the markers and their labels at the edges
    const padX = (xmax - xmin || 1) * 0.06;
    xmin -= padX;
    xmax += padX;
  }
  const barSeries = p.series.filter((s) => s.bars);
  if (barSeries.length || p.xTickLabels) {
    // a category's bars sit within half a step either side of it
    xmin -= 0.5;
    xmax += 0.5;
  }
  let ymin = Math.min(...pts.map((q) => ty(q[1])), ...(barSeries.length ? [0] : []));
  let ymax = Math.max(...pts.map((q) => ty(q[1])));
  if (xmax === xmin) xmax = xmin + 1;
  if (ymax === ymin) {
    ymin -= 0.5;
    ymax += 0.5;
  }
  const pad = (ymax - ymin) * 0.05;
  ymin -= pad;
  ymax += pad;
  const sx = (v: number) => x0 + m.l + ((v - xmin) / (xmax - xmin)) * pw;
  const sy = (v: number) => y0 + m.t + ph - ((ty(v) - ymin) / (ymax - ymin)) * ph;
  parts.push(`<rect x="${x0 + m.l}" y="${y0 + m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  const xTicks = p.xTickLabels ? p.xTickLabels.map((_, i) => i) : niceTicks(xmin, xmax);
  for (const t of xTicks) {
    const label = p.xTickLabels ? p.xTickLabels[t]! : fmt(t);
    parts.push(`<line x1="${sx(t)}" y1="${y0 + m.t + ph}" x2="${sx(t)}" y2="${y0 + m.t + ph + 4}" stroke="#999"/>`);
    parts.push(`<text x="${sx(t)}" y="${y0 + m.t + ph + 16}" font-size="11" text-anchor="middle">${esc(label)}</text>`);
  }
  const yTicks = p.logY ? logTicks(ymin, ymax) : niceTicks(ymin, ymax);
  for (const t of yTicks) {
    const yy = sy(t);
    parts.push(`<line x1="${x0 + m.l}" y1="${yy}" x2="${x0 + m.l + pw}" y2="${yy}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 + m.l - 6}" y="${yy + 4}" font-size="11" text-anchor="end">${fmt(t)}</text>`);
  }
  parts.push(`<text x="${x0 + m.l + pw / 2}" y="${y0 + h - 6}" font-size="12" text-anchor="middle">${esc(p.xLabel)}</text>`);
  parts.push(`<text x="${x0 + 14}" y="${y0 + m.t + ph / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 ${x0 + 14} ${y0 + m.t + ph / 2})">${esc(p.yLabel)}${p.logY ? ' (log)' : ''}</text>`);
  const labels: Label[] = [];
  p.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const good = s.points.filter(([, y]) => Number.isFinite(y) && (!p.logY || y > 0));
    if (good.length === 0) return;
    if (s.bars) {
      const b = barSeries.indexOf(s);
      const bw = (sx(1) - sx(0)) * (0.8 / barSeries.length);
      for (const [x, y] of good) {
        const left = sx(x) - 0.4 * (sx(1) - sx(0)) + b * bw;
        parts.push(`<rect x="${left.toFixed(1)}" y="${Math.min(sy(y), sy(0)).toFixed(1)}" width="${(bw * 0.9).toFixed(1)}" height="${Math.abs(sy(0) - sy(y)).toFixed(1)}" fill="${c}"/>`);
      }
      const ly = y0 + m.t + 14 + i * 18;
      parts.push(`<rect x="${x0 + m.l + pw + 12}" y="${ly - 9}" width="20" height="10" fill="${c}"/>`);
      parts.push(`<text x="${x0 + m.l + pw + 36}" y="${ly}" font-size="12">${esc(s.name)}</text>`);
      return;
    }
    const d = good.map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    if (s.line !== false) parts.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.5"/>`);
    const r = s.labels || s.line === false ? 4 : 2.5;
    if (good.length < 40 || s.labels) for (const [x, y] of good) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="${r}" fill="${c}"/>`);
    s.points.forEach(([x, y], j) => {
      const text = s.labels?.[j];
      if (!text || !good.some((q) => q[0] === x && q[1] === y)) return;
      // labels go right of the marker, or left of it in the right quarter so they stay inside
      const right = sx(x) > x0 + m.l + pw * 0.75;
      labels.push({ x: sx(x) + (right ? -7 : 7), y: sy(y) - 7, text, right, color: c });
    });
    const ly = y0 + m.t + 14 + i * 18;
    if (s.line === false) parts.push(`<circle cx="${x0 + m.l + pw + 22}" cy="${ly - 4}" r="4" fill="${c}"/>`);
    else parts.push(`<line x1="${x0 + m.l + pw + 12}" y1="${ly - 4}" x2="${x0 + m.l + pw + 32}" y2="${ly - 4}" stroke="${c}" stroke-width="2"/>`);
    parts.push(`<text x="${x0 + m.l + pw + 36}" y="${ly}" font-size="12">${esc(s.name)}</text>`);
  });
  for (const l of spreadLabels(labels)) {
    parts.push(`<text x="${l.x.toFixed(1)}" y="${l.y.toFixed(1)}" font-size="11" text-anchor="${l.right ? 'end' : 'start'}" fill="${l.color}">${esc(l.text)}</text>`);
  }
  return parts.join('');
}

interface Label {
  x: number;
  y: number;
  text: string;
  /** anchored at its right end */
  right: boolean;
  color: string;
}

/** Moves labels down, top to bottom, until no two overlap (points close together stay readable). */
function spreadLabels(labels: Label[]): Label[] {
  const LINE = 13;
  const span = (l: Label): [number, number] => {
    const w = l.text.length * 6.3; // about 11 px DejaVu Sans
    return l.right ? [l.x - w, l.x] : [l.x, l.x + w];
  };
  const placed: Label[] = [];
  for (const l of [...labels].sort((a, b) => a.y - b.y)) {
    const [a0, a1] = span(l);
    const moved = { ...l };
    for (;;) {
      const hit = placed.find((q) => {
        const [b0, b1] = span(q);
        return a0 < b1 && b0 < a1 && Math.abs(q.y - moved.y) < LINE;
      });
      if (!hit) break;
      moved.y = hit.y + LINE;
    }
    placed.push(moved);
  }
  return placed;
}

/** Panels stacked vertically, each `panelHeight` tall. */
export function plotSvg(panels: Panel[], width = 820, panelHeight = 300): string {
  const h = panels.length * panelHeight;
  const body = panels.map((p, i) => panelSvg(p, 0, i * panelHeight, width, panelHeight)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" font-family="DejaVu Sans, Arial, sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`;
}
