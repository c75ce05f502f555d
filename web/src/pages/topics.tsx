// Topics: the list, and one topic's partitions (offsets, sizes) and configs.
import { useState } from 'preact/hooks';
import { enc, type TopicDetail, type TopicSummary } from '../api.js';
import { formatCount, formatSize } from '../format.js';
import { href, useJson } from '../hooks.js';
import { Badge, Empty, Facts, Load, Page } from '../ui.js';
import { ConfigTable } from './configs.js';

export function TopicsPage() {
  const state = useJson<{ topics: TopicSummary[] }>('/v1/topics', 5000);
  const [showInternal, setShowInternal] = useState(false);
  return (
    <Page
      title="Topics"
      actions={
        <label class="check">
          <input type="checkbox" checked={showInternal} onChange={(e) => setShowInternal(e.currentTarget.checked)} /> Show internal topics
        </label>
      }
    >
      <Load state={state}>
        {({ topics }) => {
          const shown = topics.filter((t) => showInternal || !t.internal);
          if (shown.length === 0) return <Empty>No topics yet. Create one with <code>eddy topic create NAME</code> or any Kafka client.</Empty>;
          return (
            <table class="grid" data-testid="topics">
              <thead>
                <tr>
                  <th>Name</th>
                  <th class="num">Partitions</th>
                  <th class="num">Records</th>
                  <th class="num">Size</th>
                  <th>Topic id</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((t) => (
                  <tr key={t.name}>
                    <td>
                      <a href={href(['topics', t.name])}>{t.name}</a> {t.internal && <Badge>internal</Badge>}
                    </td>
                    <td class="num">{t.partitions}</td>
                    <td class="num">{formatCount(t.records)}</td>
                    <td class="num">{formatSize(t.sizeBytes)}</td>
                    <td class="mono muted">{t.topicId}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </Load>
    </Page>
  );
}

export function TopicPage(props: { name: string }) {
  const state = useJson<TopicDetail>(`/v1/topics/${enc(props.name)}`, 5000);
  return (
    <Page
      title={
        <>
          <a href="#/topics" class="crumb">
            Topics
          </a>{' '}
          / {props.name}
        </>
      }
      actions={
        <a class="button" href={href(['topics', props.name, 'records'])}>
          Browse records
        </a>
      }
    >
      <Load state={state}>
        {(t) => {
          const records = t.partitions.reduce((n, p) => n + ((p.highWatermark ?? 0) - (p.logStartOffset ?? 0)), 0);
          const size = t.partitions.reduce((n, p) => n + (p.sizeBytes ?? 0), 0);
          return (
            <>
              <Facts
                items={[
                  ['Partitions', t.partitions.length],
                  ['Records', formatCount(records)],
                  ['Size', formatSize(size)],
                  ['Topic id', <span class="mono">{t.topicId}</span>],
                ]}
              />
              <h2>Partitions</h2>
              <table class="grid" data-testid="partitions">
                <thead>
                  <tr>
                    <th class="num">Partition</th>
                    <th class="num">Leader</th>
                    <th class="num">Log start offset</th>
                    <th class="num">High watermark</th>
                    <th class="num">Log end offset</th>
                    <th class="num">Records</th>
                    <th class="num">Size</th>
                    <th class="num">Segments</th>
                    <th></th>
                  </tr>
                </thead>
                <tbody>
                  {t.partitions.map((p) => (
                    <tr key={p.partition}>
                      <td class="num">{p.partition}</td>
                      <td class="num">{p.leader}</td>
                      <td class="num">{formatCount(p.logStartOffset)}</td>
                      <td class="num">{formatCount(p.highWatermark)}</td>
                      <td class="num">{formatCount(p.logEndOffset)}</td>
                      <td class="num">{formatCount(p.highWatermark === null || p.logStartOffset === null ? null : p.highWatermark - p.logStartOffset)}</td>
                      <td class="num">{formatSize(p.sizeBytes)}</td>
                      <td class="num">{formatCount(p.segments)}</td>
                      <td>
                        {p.offline ? (
                          <Badge kind="bad">offline</Badge>
                        ) : (
                          <a href={href(['topics', t.name, 'records'], { partition: p.partition })}>records</a>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <h2>Configs</h2>
              <ConfigTable configs={t.configs} />
            </>
          );
        }}
      </Load>
    </Page>
  );
}
