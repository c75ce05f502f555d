// Configs: a filterable table (a topic's on its page, the broker's here), values that differ from the default
// marked with their source.
import { useState } from 'preact/hooks';
import type { Config } from '../api.js';
import { useJson } from '../hooks.js';
import { Badge, Load, Page } from '../ui.js';

const SOURCE_LABELS: Record<string, string> = {
  DEFAULT_CONFIG: 'default',
  STATIC_BROKER_CONFIG: 'static',
  DYNAMIC_BROKER_CONFIG: 'dynamic (broker)',
  DYNAMIC_DEFAULT_BROKER_CONFIG: 'dynamic (cluster default)',
  DYNAMIC_TOPIC_CONFIG: 'topic',
  UNKNOWN: 'unknown',
};

export function ConfigTable(props: { configs: Config[] }) {
  const [filter, setFilter] = useState('');
  const [changedOnly, setChangedOnly] = useState(false);
  const needle = filter.trim().toLowerCase();
  const shown = props.configs.filter(
    (c) => (!changedOnly || c.source !== 'DEFAULT_CONFIG') && (needle === '' || c.name.includes(needle) || (c.value ?? '').toLowerCase().includes(needle)),
  );
  return (
    <>
      <div class="toolbar">
        <input type="search" placeholder="Filter by name or value" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} aria-label="Filter configs" />
        <label class="check">
          <input type="checkbox" checked={changedOnly} onChange={(e) => setChangedOnly(e.currentTarget.checked)} /> Only values not at their default
        </label>
        <span class="muted">
          {shown.length} of {props.configs.length}
        </span>
      </div>
      <table class="grid configs" data-testid="configs">
        <thead>
          <tr>
            <th>Name</th>
            <th>Value</th>
            <th>Source</th>
            <th>Type</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((c) => (
            <tr key={c.name} class={c.source === 'DEFAULT_CONFIG' ? '' : 'changed'}>
              <td class="mono" title={c.documentation ?? undefined}>
                {c.name}
              </td>
              <td class="mono value">{c.sensitive ? <span class="muted">(sensitive)</span> : c.value === null ? <span class="muted">null</span> : c.value}</td>
              <td>
                <Badge kind={c.source === 'DEFAULT_CONFIG' ? 'idle' : 'info'}>{SOURCE_LABELS[c.source] ?? c.source}</Badge>
                {c.readOnly && <Badge kind="idle">read-only</Badge>}
              </td>
              <td class="muted">{c.type.toLowerCase()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function BrokerConfigsPage() {
  const state = useJson<{ nodeId: number; configs: Config[] }>('/v1/broker/configs');
  return (
    <Page title="Broker configs" subtitle="What DescribeConfigs answers for this broker; hover a name for its documentation.">
      <Load state={state}>{(d) => <ConfigTable configs={d.configs} />}</Load>
    </Page>
  );
}
