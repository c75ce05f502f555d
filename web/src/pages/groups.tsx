// Consumer groups: the list with total lag, and one group's members, assignments and per-partition lag (the
// columns of kafka-consumer-groups.sh --describe).
import { enc, type GroupDetail, type GroupSummary } from '../api.js';
import { formatCount } from '../format.js';
import { href, useJson } from '../hooks.js';
import { Empty, Facts, Load, Page, StateBadge } from '../ui.js';

export function GroupsPage() {
  const state = useJson<{ groups: GroupSummary[] }>('/v1/groups', 5000);
  return (
    <Page title="Consumer groups">
      <Load state={state}>
        {({ groups }) =>
          groups.length === 0 ? (
            <Empty>No consumer groups yet.</Empty>
          ) : (
            <table class="grid" data-testid="groups">
              <thead>
                <tr>
                  <th>Group</th>
                  <th>State</th>
                  <th>Protocol type</th>
                  <th class="num">Members</th>
                  <th class="num">Lag</th>
                </tr>
              </thead>
              <tbody>
                {groups.map((g) => (
                  <tr key={g.groupId}>
                    <td>
                      <a href={href(['groups', g.groupId])}>{g.groupId}</a>
                    </td>
                    <td>
                      <StateBadge state={g.state} />
                    </td>
                    <td>{g.protocolType === '' ? <span class="muted">–</span> : g.protocolType}</td>
                    <td class="num">{g.members}</td>
                    <td class="num" data-testid="group-lag">
                      {formatCount(g.lag)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Load>
    </Page>
  );
}

function assignmentText(a: GroupDetail['members'][number]['assignment']): string {
  if (a === null) return '–';
  if (a.length === 0) return 'none';
  return a.map((tp) => `${tp.topic} [${tp.partitions.join(', ')}]`).join('; ');
}

export function GroupPage(props: { id: string }) {
  const state = useJson<GroupDetail>(`/v1/groups/${enc(props.id)}`, 3000);
  return (
    <Page
      title={
        <>
          <a href="#/groups" class="crumb">
            Consumer groups
          </a>{' '}
          / {props.id}
        </>
      }
    >
      <Load state={state}>
        {(g) => {
          const lag = g.partitions.reduce((n, p) => n + (p.lag ?? 0), 0);
          return (
            <>
              <Facts
                items={[
                  ['State', <StateBadge state={g.state} />],
                  ['Protocol', g.protocolType === '' ? '–' : `${g.protocolType}${g.protocol === null ? '' : ` / ${g.protocol}`}`],
                  ['Generation', g.generationId],
                  ['Members', g.members.length],
                  ['Total lag', <span data-testid="total-lag">{formatCount(lag)}</span>],
                ]}
              />
              <h2>Members</h2>
              {g.members.length === 0 ? (
                <Empty>No active members.</Empty>
              ) : (
                <table class="grid" data-testid="members">
                  <thead>
                    <tr>
                      <th>Member id</th>
                      <th>Client id</th>
                      <th>Host</th>
                      <th>Assignment</th>
                    </tr>
                  </thead>
                  <tbody>
                    {g.members.map((m) => (
                      <tr key={m.memberId}>
                        <td class="mono">
                          {m.memberId}
                          {m.memberId === g.leaderId && <span class="badge info">leader</span>}
                        </td>
                        <td>{m.clientId}</td>
                        <td class="mono">{m.clientHost}</td>
                        <td>{assignmentText(m.assignment)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              <h2>Partitions</h2>
              {g.partitions.length === 0 ? (
                <Empty>No committed offsets or assigned partitions.</Empty>
              ) : (
                <table class="grid" data-testid="group-partitions">
                  <thead>
                    <tr>
                      <th>Topic</th>
                      <th class="num">Partition</th>
                      <th class="num">Committed offset</th>
                      <th class="num">Log end offset</th>
                      <th class="num">Lag</th>
                      <th>Consumer</th>
                    </tr>
                  </thead>
                  <tbody>
                    {g.partitions.map((p) => (
                      <tr key={`${p.topic}-${p.partition}`} data-partition={`${p.topic}-${p.partition}`}>
                        <td>
                          <a href={href(['topics', p.topic])}>{p.topic}</a>
                        </td>
                        <td class="num">{p.partition}</td>
                        <td class="num">{formatCount(p.committedOffset)}</td>
                        <td class="num">{formatCount(p.logEndOffset)}</td>
                        <td class={`num ${p.lag !== null && p.lag > 0 ? 'lagging' : ''}`} data-testid="lag">
                          {formatCount(p.lag)}
                        </td>
                        <td class="muted">{p.clientId === null ? '–' : `${p.clientId} (${p.clientHost})`}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </>
          );
        }}
      </Load>
    </Page>
  );
}
