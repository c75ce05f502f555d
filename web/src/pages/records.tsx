// The record browser: one partition, from an offset or a timestamp, a page at a time; keys and values as text,
// pretty-printed JSON or hex; headers and timestamps. The state lives in the hash (#/topics/T/records?partition=0
// &offset=42&limit=50&format=auto), so a page can be linked and "Next page" is a link.
import { useEffect, useState } from 'preact/hooks';
import { enc, type Bytes, type RecordPage, type TopicDetail } from '../api.js';
import { FORMATS, formatCount, formatTime, show, type Format } from '../format.js';
import { href, useJson } from '../hooks.js';
import { Empty, Load, Page } from '../ui.js';

const LIMITS = [20, 50, 100, 500];

function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

function Field(props: { field: Bytes | null; format: Format }) {
  const shown = show(props.field, props.format);
  if (shown.kind === 'null') return <span class="muted">null</span>;
  return (
    <div class="field">
      <pre class={`value ${shown.kind}`}>{shown.text === '' ? <span class="muted">(empty)</span> : shown.text}</pre>
      {shown.cutBytes > 0 && <span class="muted small">… {formatCount(shown.cutBytes)} more bytes not shown</span>}
    </div>
  );
}

export function RecordsPage(props: { topic: string; query: URLSearchParams }) {
  const q = props.query;
  const partition = Number(q.get('partition') ?? '0');
  const offset = q.get('offset');
  const timestamp = q.get('timestamp');
  const limit = Number(q.get('limit') ?? '50');
  const format = (FORMATS as readonly string[]).includes(q.get('format') ?? '') ? (q.get('format') as Format) : 'auto';
  const topic = useJson<TopicDetail>(`/v1/topics/${enc(props.topic)}`);

  const params = new URLSearchParams({ limit: String(limit) });
  if (timestamp !== null) params.set('timestamp', timestamp);
  else if (offset !== null) params.set('offset', offset);
  const page = useJson<RecordPage>(`/v1/topics/${enc(props.topic)}/partitions/${partition}/records?${params}`);

  const [mode, setMode] = useState<'offset' | 'timestamp'>(timestamp !== null ? 'timestamp' : 'offset');
  const [offsetInput, setOffsetInput] = useState(offset ?? '');
  const [timeInput, setTimeInput] = useState(timestamp !== null ? toLocalInput(Number(timestamp)) : toLocalInput(Date.now() - 3_600_000));
  useEffect(() => {
    setOffsetInput(offset ?? '');
    if (timestamp !== null) setTimeInput(toLocalInput(Number(timestamp)));
  }, [offset, timestamp]);

  const base = { partition, limit, format: format === 'auto' ? undefined : format };
  const go = (query: Record<string, string | number | undefined>) => {
    location.hash = href(['topics', props.topic, 'records'], query);
  };
  const onSubmit = (e: Event) => {
    e.preventDefault();
    if (mode === 'timestamp') {
      const ms = new Date(timeInput).getTime();
      go({ ...base, timestamp: Number.isNaN(ms) ? undefined : Math.max(0, ms) });
    } else {
      go({ ...base, offset: offsetInput.trim() === '' ? undefined : offsetInput.trim() });
    }
  };

  return (
    <Page
      title={
        <>
          <a href="#/topics" class="crumb">
            Topics
          </a>{' '}
          /{' '}
          <a href={href(['topics', props.topic])} class="crumb">
            {props.topic}
          </a>{' '}
          / records
        </>
      }
    >
      <form class="toolbar" onSubmit={onSubmit} data-testid="record-form">
        <label>
          Partition{' '}
          <select value={partition} onChange={(e) => go({ ...base, partition: e.currentTarget.value, offset: undefined })} aria-label="Partition">
            {(topic.data?.partitions ?? [{ partition }]).map((p) => (
              <option key={p.partition} value={p.partition}>
                {p.partition}
              </option>
            ))}
          </select>
        </label>
        <select value={mode} onChange={(e) => setMode(e.currentTarget.value as 'offset' | 'timestamp')} aria-label="Start at">
          <option value="offset">From offset</option>
          <option value="timestamp">From time</option>
        </select>
        {mode === 'offset' ? (
          <input class="offset" inputMode="numeric" placeholder="log start" value={offsetInput} onInput={(e) => setOffsetInput(e.currentTarget.value)} aria-label="Offset" />
        ) : (
          <input type="datetime-local" step="1" value={timeInput} onInput={(e) => setTimeInput(e.currentTarget.value)} aria-label="Timestamp" />
        )}
        <label>
          Limit{' '}
          <select value={limit} onChange={(e) => go({ ...base, limit: e.currentTarget.value, offset: offset ?? undefined, timestamp: timestamp ?? undefined })} aria-label="Limit">
            {LIMITS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
        <span class="spacer" />
        <label>
          Show as{' '}
          <select
            value={format}
            onChange={(e) => go({ ...base, format: e.currentTarget.value === 'auto' ? undefined : e.currentTarget.value, offset: offset ?? undefined, timestamp: timestamp ?? undefined })}
            aria-label="Format"
          >
            {FORMATS.map((f) => (
              <option key={f} value={f}>
                {f === 'auto' ? 'auto' : f === 'json' ? 'JSON' : f}
              </option>
            ))}
          </select>
        </label>
      </form>
      <Load state={page}>
        {(p) => (
          <>
            <div class="pager">
              <span class="muted" data-testid="page-range">
                Partition {p.partition}: {p.records.length === 0 ? 'no records' : `offsets ${formatCount(p.records[0]!.offset)}–${formatCount(p.records[p.records.length - 1]!.offset)}`} · log start{' '}
                {formatCount(p.logStartOffset)} · high watermark {formatCount(p.highWatermark)}
              </span>
              <span class="spacer" />
              <a class="button" href={href(['topics', props.topic, 'records'], { ...base, offset: p.logStartOffset })}>
                First
              </a>
              <a class="button" href={href(['topics', props.topic, 'records'], { ...base, offset: Math.max(p.logStartOffset, p.highWatermark - limit) })}>
                Newest
              </a>
              {p.nextOffset < p.highWatermark ? (
                <a class="button primary" href={href(['topics', props.topic, 'records'], { ...base, offset: p.nextOffset })} data-testid="next-page">
                  Next page →
                </a>
              ) : (
                <span class="button disabled">Next page →</span>
              )}
            </div>
            {p.records.length === 0 ? (
              <Empty>No records from offset {formatCount(p.startOffset)} up to the high watermark.</Empty>
            ) : (
              <table class="grid records" data-testid="records">
                <thead>
                  <tr>
                    <th class="num">Offset</th>
                    <th>Timestamp</th>
                    <th>Key</th>
                    <th>Value</th>
                    <th>Headers</th>
                  </tr>
                </thead>
                <tbody>
                  {p.records.map((r) => (
                    <tr key={r.offset} data-offset={r.offset}>
                      <td class="num mono">{r.offset}</td>
                      <td class="mono nowrap" title={`${r.timestampType} ${r.timestamp}`}>
                        {formatTime(r.timestamp)}
                        {r.timestampType === 'LogAppendTime' && <div class="muted small">log append time</div>}
                      </td>
                      <td class="key">
                        <Field field={r.key} format={format} />
                      </td>
                      <td class="val">
                        <Field field={r.value} format={format} />
                      </td>
                      <td class="headers">
                        {r.headers.length === 0 ? (
                          <span class="muted">–</span>
                        ) : (
                          r.headers.map((h, i) => (
                            <div key={i} class="header">
                              <span class="mono hkey">{h.key}</span>
                              <Field field={h.value} format={format === 'json' ? 'auto' : format} />
                            </div>
                          ))
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </Load>
    </Page>
  );
}
