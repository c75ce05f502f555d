// Live rates: messages and bytes per second into each topic and in total, from /v1/stats samples taken every
// STATS_INTERVAL_MS by the app (main.tsx), so the history keeps growing while other pages are open.
import type { Stats } from '../api.js';
import { LineChart, type Series } from '../chart.js';
import { formatCount, formatRate, formatSize } from '../format.js';
import { Empty, Page } from '../ui.js';

export const STATS_INTERVAL_MS = 2000;
/** How far back the charts reach. */
export const WINDOW_MS = 3 * 60_000;
/** Topics drawn one by one (the busiest); the total line covers all. */
const MAX_TOPIC_LINES = 6;
const COLORS = ['#2f6fdf', '#e07b00', '#2a9d5c', '#c2389b', '#7b5cd6', '#b5a400'];
/** The page's text colour, so the total reads in light and dark mode. */
const TOTAL_COLOR = 'var(--text)';

interface Rate {
  timeMs: number;
  messagesIn: number;
  bytesIn: number;
  bytesOut: number;
}

/** Per-second rates between consecutive samples, by topic and in total (a counter that went down counts 0). */
export function ratesOf(samples: readonly Stats[]): { total: Rate[]; topics: Map<string, Rate[]> } {
  const total: Rate[] = [];
  const topics = new Map<string, Rate[]>();
  for (let i = 1; i < samples.length; i++) {
    const prev = samples[i - 1]!;
    const cur = samples[i]!;
    const dt = (cur.timeMs - prev.timeMs) / 1000;
    if (dt <= 0) continue;
    const before = new Map(prev.topics.map((t) => [t.topic, t]));
    const sum: Rate = { timeMs: cur.timeMs, messagesIn: 0, bytesIn: 0, bytesOut: 0 };
    for (const t of cur.topics) {
      const p = before.get(t.topic);
      const r: Rate = {
        timeMs: cur.timeMs,
        messagesIn: Math.max(0, t.messagesIn - (p?.messagesIn ?? 0)) / dt,
        bytesIn: Math.max(0, t.bytesIn - (p?.bytesIn ?? 0)) / dt,
        bytesOut: Math.max(0, t.bytesOut - (p?.bytesOut ?? 0)) / dt,
      };
      sum.messagesIn += r.messagesIn;
      sum.bytesIn += r.bytesIn;
      sum.bytesOut += r.bytesOut;
      let list = topics.get(t.topic);
      if (list === undefined) topics.set(t.topic, (list = []));
      list.push(r);
    }
    total.push(sum);
  }
  return { total, topics };
}

const perSecond = (f: (n: number) => string) => (n: number) => `${f(n)}/s`;
const sizeRate = perSecond((n) => formatSize(Math.round(n)));

export function RatesPage(props: { samples: readonly Stats[] }) {
  const { samples } = props;
  const last = samples[samples.length - 1];
  const { total, topics } = ratesOf(samples);
  const now = total[total.length - 1];
  const busiest = [...topics.entries()]
    .map(([topic, rates]) => ({ topic, rates, sum: rates.reduce((n, r) => n + r.bytesIn + r.messagesIn, 0) }))
    .sort((a, b) => b.sum - a.sum || a.topic.localeCompare(b.topic))
    .slice(0, MAX_TOPIC_LINES);
  const lines = (field: 'messagesIn' | 'bytesIn'): Series[] => [
    { name: 'total', color: TOTAL_COLOR, total: true, points: total.map((r) => [r.timeMs, r[field]]) },
    ...busiest.map((b, i) => ({ name: b.topic, color: COLORS[i % COLORS.length]!, points: b.rates.map((r): [number, number] => [r.timeMs, r[field]]) })),
  ];
  const nowMs = last?.timeMs ?? Date.now();
  return (
    <Page title="Message rates" subtitle={`Produced into this broker, sampled every ${STATS_INTERVAL_MS / 1000} s (the counters of /metrics).`}>
      {now === undefined ? (
        <Empty>Collecting the first samples…</Empty>
      ) : (
        <>
          <div class="cards" data-testid="rate-cards">
            <div class="card">
              <span class="muted">Messages in</span>
              <strong data-testid="messages-rate">{formatRate(now.messagesIn)}/s</strong>
            </div>
            <div class="card">
              <span class="muted">Bytes in</span>
              <strong>{sizeRate(now.bytesIn)}</strong>
            </div>
            <div class="card">
              <span class="muted">Bytes out</span>
              <strong>{sizeRate(now.bytesOut)}</strong>
            </div>
            <div class="card">
              <span class="muted">Messages in since start</span>
              <strong>{formatCount(last?.total.messagesIn ?? 0)}</strong>
            </div>
          </div>
          <h2>Messages in per second</h2>
          <LineChart label="Messages in per second" series={lines('messagesIn')} windowMs={WINDOW_MS} nowMs={nowMs} format={(n) => formatRate(n)} />
          <h2>Bytes in per second</h2>
          <LineChart label="Bytes in per second" series={lines('bytesIn')} windowMs={WINDOW_MS} nowMs={nowMs} format={(n) => formatSize(Math.round(n))} byteAxis />
          <h2>By topic</h2>
          {last === undefined || last.topics.length === 0 ? (
            <Empty>Nothing produced since the broker started.</Empty>
          ) : (
            <table class="grid" data-testid="topic-rates">
              <thead>
                <tr>
                  <th>Topic</th>
                  <th class="num">Messages/s</th>
                  <th class="num">Bytes in/s</th>
                  <th class="num">Bytes out/s</th>
                  <th class="num">Messages in</th>
                  <th class="num">Bytes in</th>
                </tr>
              </thead>
              <tbody>
                {last.topics.map((t) => {
                  const r = topics.get(t.topic)?.at(-1);
                  return (
                    <tr key={t.topic}>
                      <td>{t.topic}</td>
                      <td class="num">{formatRate(r?.messagesIn ?? 0)}</td>
                      <td class="num">{sizeRate(r?.bytesIn ?? 0)}</td>
                      <td class="num">{sizeRate(r?.bytesOut ?? 0)}</td>
                      <td class="num">{formatCount(t.messagesIn)}</td>
                      <td class="num">{formatSize(t.bytesIn)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </>
      )}
    </Page>
  );
}
