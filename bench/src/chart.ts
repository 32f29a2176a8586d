/**
 * latency.svg: commit -> deletion latency over offered load, one line per percentile, log-scaled
 * milliseconds. Pure string building, so the chart needs no browser and no chart library.
 */
import type { LatencyStep } from './results.js';

const WIDTH = 640;
const HEIGHT = 360;
const PAD = { left: 64, right: 120, top: 36, bottom: 52 };
const SERIES = [
  { field: 'p50', color: '#2b7bb9' },
  { field: 'p95', color: '#e08a00' },
  { field: 'p99', color: '#c0392b' },
  { field: 'max', color: '#7f7f7f' },
] as const;

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Decades (and 2x, 5x within them) covering [min, max], for a log axis. */
export function logTicks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-3)));
  const hi = Math.ceil(Math.log10(Math.max(max, min, 1e-3)));
  const ticks: number[] = [];
  for (let e = lo; e <= Math.max(hi, lo + 1); e += 1) {
    for (const m of [1, 2, 5]) ticks.push(Number((m * 10 ** e).toPrecision(3)));
  }
  const first = ticks.findLastIndex((t) => t <= min);
  const last = ticks.findIndex((t) => t >= max);
  return ticks.slice(Math.max(first, 0), last === -1 ? undefined : last + 1);
}

function label(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

export function latencyChart(steps: readonly LatencyStep[], title: string, targetP99Ms?: number): string {
  if (steps.length === 0) throw new RangeError('latency chart needs at least one load step');
  const values = steps.flatMap((s) => SERIES.map((series) => Math.max(s[series.field], 0.01)));
  const ticks = logTicks(Math.min(...values), Math.max(...values, targetP99Ms ?? 0));
  const [yMin, yMax] = [ticks[0]!, ticks[ticks.length - 1]!];
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (steps.length === 1 ? plotW / 2 : (i * plotW) / (steps.length - 1));
  const y = (ms: number) => {
    const v = Math.min(Math.max(ms, yMin), yMax);
    return PAD.top + plotH - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotH;
  };
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  for (const t of ticks) {
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${f(y(t))}" y2="${f(y(t))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${f(y(t) + 4)}" text-anchor="end">${escapeXml(label(t))}</text>`);
  }
  steps.forEach((s, i) => {
    out.push(`<text x="${f(x(i))}" y="${PAD.top + plotH + 18}" text-anchor="middle">${s.offeredPerSec}/s</text>`);
  });
  out.push(`<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">offered load (single-row transactions per second)</text>`);
  out.push(`<text transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">commit to key gone (log)</text>`);
  if (targetP99Ms !== undefined) {
    out.push(`<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${f(y(targetP99Ms))}" y2="${f(y(targetP99Ms))}" stroke="#c0392b" stroke-dasharray="4 4"/>`);
    out.push(`<text x="${PAD.left + plotW + 8}" y="${f(y(targetP99Ms) + 4)}" fill="#c0392b">p99 target</text>`);
  }
  SERIES.forEach((series, n) => {
    const points = steps.map((s, i) => `${f(x(i))},${f(y(s[series.field]))}`);
    out.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${points.join(' ')}"/>`);
    for (const p of points) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${series.color}"/>`);
    }
    const ly = PAD.top + 14 + n * 18;
    out.push(`<line x1="${WIDTH - PAD.right + 28}" x2="${WIDTH - PAD.right + 48}" y1="${ly - 4}" y2="${ly - 4}" stroke="${series.color}" stroke-width="2"/>`);
    out.push(`<text x="${WIDTH - PAD.right + 54}" y="${ly}">${series.field}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
