// A time-series line chart in plain SVG (no chart library: about a kilobyte instead of tens). The SVG is drawn at
// its container's pixel width (ResizeObserver), so labels keep their size; the x axis runs from the oldest point
// (at least MIN_WINDOW_MS, at most windowMs back) to the newest, the y axis from 0 to a round number.
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Series {
  name: string;
  color: string;
  /** [time ms, value], oldest first. */
  points: Array<[number, number]>;
  /** The total: drawn dashed, over the others. */
  total?: boolean;
}

const H = 220;
const LEFT = 72;
const RIGHT = 16;
const TOP = 14;
const BOTTOM = 28;
const MIN_WINDOW_MS = 30_000;
const TICK_STEPS_MS = [5_000, 10_000, 15_000, 30_000, 60_000];

/**
 * The smallest round number at or above `max` whose quarters are round too (1, 1.2, 1.6, 2 … 8 × 10^j, times
 * base^k: `base` 1024 keeps byte axes on KiB/MiB).
 */
export function niceMax(max: number, base = 1): number {
  if (!(max > 0)) return base === 1 ? 1 : 1024;
  let unit = 1;
  if (base > 1) while (max / unit >= base) unit *= base;
  const v = max / unit;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return Math.max(1, m * p) * unit;
  return 10 * p * unit;
}

function ago(ms: number): string {
  return ms === 0 ? 'now' : ms % 60_000 === 0 ? `−${ms / 60_000} min` : `−${ms / 1000} s`;
}

export function LineChart(props: { series: Series[]; windowMs: number; nowMs: number; format: (v: number) => string; label: string; byteAxis?: boolean }) {
  const { series, nowMs } = props;
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(900);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const observer = new ResizeObserver(() => setWidth(Math.max(320, Math.round(el.clientWidth))));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  let oldest = nowMs;
  let max = 0;
  for (const s of series) {
    for (const [t, v] of s.points) {
      if (t < oldest) oldest = t;
      if (v > max) max = v;
    }
  }
  const windowMs = Math.min(props.windowMs, Math.max(MIN_WINDOW_MS, nowMs - oldest));
  const top = niceMax(max, props.byteAxis ? 1024 : 1);
  const x = (t: number) => LEFT + ((t - (nowMs - windowMs)) / windowMs) * (width - LEFT - RIGHT);
  const y = (v: number) => TOP + (1 - v / top) * (H - TOP - BOTTOM);
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * top);
  const step = TICK_STEPS_MS.find((s) => windowMs / s <= 6) ?? 60_000;
  const xTicks: number[] = [];
  for (let back = 0; back <= windowMs; back += step) xTicks.push(back);
  const ordered = [...series.filter((s) => !s.total), ...series.filter((s) => s.total)];
  return (
    <figure class="chart">
      <div ref={box}>
        <svg viewBox={`0 0 ${width} ${H}`} width={width} height={H} role="img" aria-label={props.label}>
          {yTicks.map((v) => (
            <g key={v}>
              <line x1={LEFT} x2={width - RIGHT} y1={y(v)} y2={y(v)} class="grid-line" />
              <text x={LEFT - 10} y={y(v) + 4} text-anchor="end" class="tick">
                {props.format(v)}
              </text>
            </g>
          ))}
          {xTicks.map((back) => (
            <text key={back} x={x(nowMs - back)} y={H - 8} text-anchor={back === 0 ? 'end' : 'middle'} class="tick">
              {ago(back)}
            </text>
          ))}
          {ordered.map((s) =>
            s.points.length < 2 ? null : (
              <polyline
                key={s.name}
                points={s.points
                  .filter(([t]) => t >= nowMs - windowMs)
                  .map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`)
                  .join(' ')}
                fill="none"
                style={{ stroke: s.color }}
                stroke-width={2}
                stroke-dasharray={s.total ? '6 4' : undefined}
                stroke-linejoin="round"
              />
            ),
          )}
        </svg>
      </div>
      <figcaption class="legend">
        {series.map((s) => (
          <span key={s.name}>
            <i class={s.total ? 'dashed' : ''} style={{ background: s.color }} />
            {s.name}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
