// Small shared pieces: page title, loading and error states, a key/value list, state badges.
import type { ComponentChildren } from 'preact';
import type { Loaded } from './hooks.js';

export function Page(props: { title: ComponentChildren; subtitle?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="page">
      <header class="page-head">
        <div>
          <h1>{props.title}</h1>
          {props.subtitle !== undefined && <p class="subtitle">{props.subtitle}</p>}
        </div>
        {props.actions !== undefined && <div class="actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

/** Renders `children(data)` once loaded; a first load shows a placeholder, a failure its message. */
export function Load<T>(props: { state: Loaded<T>; children: (data: T) => ComponentChildren }) {
  const { data, error, loading } = props.state;
  return (
    <>
      {error !== undefined && (
        <div class="error" role="alert">
          {error.message}
        </div>
      )}
      {data !== undefined ? props.children(data) : loading ? <p class="muted">Loading…</p> : null}
    </>
  );
}

export function Facts(props: { items: Array<[string, ComponentChildren]> }) {
  return (
    <dl class="facts">
      {props.items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

const STATE_CLASS: Record<string, string> = {
  Stable: 'ok',
  Empty: 'idle',
  PreparingRebalance: 'warn',
  CompletingRebalance: 'warn',
  Dead: 'bad',
};

export function Badge(props: { kind?: string; children: ComponentChildren }) {
  return <span class={`badge ${props.kind ?? ''}`}>{props.children}</span>;
}

export function StateBadge(props: { state: string }) {
  return <Badge kind={STATE_CLASS[props.state]}>{props.state}</Badge>;
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}
