/**
 * The benchmark's plot, written by hand (no plotting package): accept latency percentiles and
 * throughput per concurrency level, with the same run's floors drawn in as dashed lines.
 */
export interface PlotLevel {
  gateway_latency_ms: number;
  concurrency: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  rps: number;
}

export interface PlotFloor {
  label: string;
  c1_p50_ms: number;
  /** NaN: not drawn on the throughput panel (the in-process floor runs one at a time) */
  c32_rps: number;
  color: string;
}

const W = 960;
const H = 420;
const PANEL = { w: 400, h: 300, top: 60 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** Round-ish upper bound for an axis. */
function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function panel(o: {
  x0: number;
  title: string;
  unit: string;
  concurrencies: number[];
  series: Array<{ label: string; color: string; dash?: string; values: Array<number | undefined> }>;
  floors: Array<{ label: string; color: string; value: number }>;
  logY: boolean;
}): string {
  const { x0 } = o;
  const y0 = PANEL.top;
  const all = [...o.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v))), ...o.floors.map((f) => f.value)];
  const max = niceMax(Math.max(...all, 1) * 1.1);
  const min = o.logY ? 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...all)))) : 0;
  const y = (v: number) => (o.logY ? y0 + PANEL.h - ((Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * PANEL.h : y0 + PANEL.h - (v / max) * PANEL.h);
  const x = (i: number) => x0 + 40 + (i * (PANEL.w - 80)) / Math.max(1, o.concurrencies.length - 1);
  const out: string[] = [];
  out.push(`<text x="${x0 + PANEL.w / 2}" y="${y0 - 25}" text-anchor="middle" font-size="15" font-weight="bold">${esc(o.title)}</text>`);
  out.push(`<rect x="${x0}" y="${y0}" width="${PANEL.w}" height="${PANEL.h}" fill="none" stroke="#999"/>`);
  const ticks = o.logY
    ? Array.from({ length: Math.round(Math.log10(max / min)) * 3 + 1 }, (_, i) => min * [1, 2, 5][i % 3]! * 10 ** Math.floor(i / 3)).filter((v) => v <= max)
    : Array.from({ length: 6 }, (_, i) => (max * i) / 5);
  for (const t of ticks) {
    out.push(`<line x1="${x0}" x2="${x0 + PANEL.w}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${x0 - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11">${fmt(t)}</text>`);
  }
  out.push(`<text x="${x0 - 45}" y="${y0 + PANEL.h / 2}" font-size="12" transform="rotate(-90 ${x0 - 45} ${y0 + PANEL.h / 2})" text-anchor="middle">${esc(o.unit)}</text>`);
  o.concurrencies.forEach((c, i) => out.push(`<text x="${x(i)}" y="${y0 + PANEL.h + 18}" text-anchor="middle" font-size="12">c=${c}</text>`));
  o.floors.forEach((f, i) => {
    out.push(`<line x1="${x0}" x2="${x0 + PANEL.w}" y1="${y(f.value).toFixed(1)}" y2="${y(f.value).toFixed(1)}" stroke="${f.color}" stroke-dasharray="6 4" stroke-width="1.5"/>`);
    // Labels alternate right and left, so that floors close together stay readable.
    const right = i % 2 === 0;
    out.push(
      `<text x="${right ? x0 + PANEL.w - 4 : x0 + 4}" y="${(y(f.value) - 4).toFixed(1)}" text-anchor="${right ? 'end' : 'start'}" font-size="11" fill="${f.color}">${esc(f.label)} ${fmt(f.value)}</text>`,
    );
  });
  for (const s of o.series) {
    const pts = s.values.map((v, i) => (v === undefined || !Number.isFinite(v) ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter((p): p is string => p !== null);
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const p of pts) out.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${s.color}"/>`);
  }
  const perRow = o.series.length > 2 ? 3 : 2;
  o.series.forEach((s, i) => {
    const ly = y0 + PANEL.h + 40 + Math.floor(i / perRow) * 16;
    const lx = x0 + (i % perRow) * (PANEL.w / perRow);
    out.push(`<line x1="${lx}" x2="${lx + 20}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<text x="${lx + 25}" y="${ly}" font-size="11">${esc(s.label)}</text>`);
  });
  return out.join('\n');
}

export function benchSvg(levels: PlotLevel[], floors: PlotFloor[], subtitle: string): string {
  const concurrencies = [...new Set(levels.map((l) => l.concurrency))].sort((a, b) => a - b);
  const latencies = [...new Set(levels.map((l) => l.gateway_latency_ms))].sort((a, b) => a - b);
  const at = (lat: number, c: number) => levels.find((l) => l.gateway_latency_ms === lat && l.concurrency === c);
  const dashFor = (lat: number) => (lat === 0 ? undefined : '2 3');
  const tag = (lat: number) => (latencies.length > 1 ? ` (gateway ${lat} ms)` : '');
  const latencySeries = latencies.flatMap((lat) =>
    (
      [
        ['p50', '#1f77b4', (l: PlotLevel) => l.p50_ms],
        ['p95', '#ff7f0e', (l: PlotLevel) => l.p95_ms],
        ['p99', '#d62728', (l: PlotLevel) => l.p99_ms],
      ] as const
    ).map(([label, color, pick]) => ({ label: `${label}${tag(lat)}`, color, dash: dashFor(lat), values: concurrencies.map((c) => (at(lat, c) ? pick(at(lat, c)!) : undefined)) })),
  );
  const rpsSeries = latencies.map((lat) => ({ label: `accepts/s${tag(lat)}`, color: '#2ca02c', dash: dashFor(lat), values: concurrencies.map((c) => at(lat, c)?.rps) }));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 40}" viewBox="0 0 ${W} ${H + 40}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13" fill="#444">${esc(subtitle)}</text>`,
    panel({
      x0: 70,
      title: 'Accept latency (ms, log scale) — floors: c=1 p50',
      unit: 'ms',
      concurrencies,
      series: latencySeries,
      floors: floors.map((f) => ({ label: f.label, color: f.color, value: f.c1_p50_ms })),
      logY: true,
    }),
    panel({
      x0: 540,
      title: 'Throughput (accepts/s) — floors: c=32',
      unit: 'per second',
      concurrencies,
      series: rpsSeries,
      floors: floors.filter((f) => Number.isFinite(f.c32_rps)).map((f) => ({ label: f.label, color: f.color, value: f.c32_rps })),
      logY: false,
    }),
    '</svg>',
    '',
  ].join('\n');
}
