// The Eddy web console: a single page over the broker's /v1 JSON API (src/http/console-api.ts), routed by the URL
// hash so the server only ever serves index.html and its two hashed assets.
//
//   #/topics                      topics                 #/groups          consumer groups
//   #/topics/NAME                 partitions, configs    #/groups/ID       members, assignments, lag
//   #/topics/NAME/records?…       record browser         #/configs         broker configs
//   #/rates                       live message rates
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getJson, type Cluster, type Stats } from './api.js';
import { useJson, useRoute } from './hooks.js';
import { BrokerConfigsPage } from './pages/configs.js';
import { GroupPage, GroupsPage } from './pages/groups.js';
import { RecordsPage } from './pages/records.js';
import { RatesPage, STATS_INTERVAL_MS, WINDOW_MS } from './pages/rates.js';
import { TopicPage, TopicsPage } from './pages/topics.js';
import './styles.css';

const NAV: Array<[string, string]> = [
  ['topics', 'Topics'],
  ['groups', 'Consumer groups'],
  ['configs', 'Broker configs'],
  ['rates', 'Rates'],
];

/** /v1/stats every STATS_INTERVAL_MS for as long as the page is open, the last WINDOW_MS (plus one) kept. */
function useStatsHistory(): Stats[] {
  const [samples, setSamples] = useState<Stats[]>([]);
  useEffect(() => {
    let stopped = false;
    const keep = Math.ceil(WINDOW_MS / STATS_INTERVAL_MS) + 2;
    const sample = () =>
      getJson<Stats>('/v1/stats').then(
        (s) => {
          if (!stopped) setSamples((old) => [...old.slice(-(keep - 1)), s]);
        },
        () => undefined,
      );
    void sample();
    const timer = setInterval(sample, STATS_INTERVAL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  return samples;
}

function NotFound() {
  return (
    <section class="page">
      <h1>Not found</h1>
      <p>
        No such page. <a href="#/topics">Go to the topics.</a>
      </p>
    </section>
  );
}

function App() {
  const route = useRoute();
  const cluster = useJson<Cluster>('/v1/cluster', 10_000);
  const samples = useStatsHistory();
  const [first = 'topics', second, third] = route.segments;
  useEffect(() => {
    if (route.segments.length === 0) history.replaceState(null, '', '#/topics');
  }, [route.segments.length]);
  useEffect(() => {
    document.title = `Eddy · ${second ?? NAV.find(([k]) => k === first)?.[1] ?? 'console'}`;
  }, [first, second]);

  let page;
  if (first === 'topics' && second === undefined) page = <TopicsPage />;
  else if (first === 'topics' && third === undefined) page = <TopicPage key={second} name={second!} />;
  else if (first === 'topics' && third === 'records') page = <RecordsPage key={second} topic={second!} query={route.query} />;
  else if (first === 'groups' && second === undefined) page = <GroupsPage />;
  else if (first === 'groups') page = <GroupPage key={second} id={second!} />;
  else if (first === 'configs') page = <BrokerConfigsPage />;
  else if (first === 'rates') page = <RatesPage samples={samples} />;
  else page = <NotFound />;

  const c = cluster.data;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/topics">
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path d="M4 12c0-4.4 3.6-8 8-8s8 3.6 8 8-3.6 8-8 8" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" />
            <path d="M9 12a3 3 0 1 1 3 3" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round" />
          </svg>
          Eddy
        </a>
        <nav>
          {NAV.map(([key, label]) => (
            <a key={key} href={`#/${key}`} class={first === key ? 'active' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <div class="cluster" title={c === undefined ? '' : `cluster id ${c.clusterId}`}>
          {c === undefined ? (
            cluster.error !== undefined ? <span class="bad-text">broker unreachable</span> : null
          ) : (
            <>
              <span class="dot" /> {c.listener} · node {c.nodeId} · v{c.version}
            </>
          )}
        </div>
      </header>
      <main>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
