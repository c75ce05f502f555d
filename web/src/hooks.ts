// Hash routing (`#/topics/orders/records?partition=0`) and fetching JSON with an optional refresh interval.
import { useEffect, useState, useCallback } from 'preact/hooks';
import { getJson } from './api.js';

export interface Route {
  /** Path segments after `#/`, percent-decoded: `['topics', 'orders', 'records']`. */
  segments: string[];
  query: URLSearchParams;
}

function parseHash(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = hash.split('?', 2);
  const segments = path
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { segments, query: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const onChange = () => setRoute(parseHash());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** `#/a/b?k=v` from segments and query entries (undefined values left out). */
export function href(segments: readonly string[], query: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const search = q.toString();
  return `#/${segments.map(encodeURIComponent).join('/')}${search === '' ? '' : `?${search}`}`;
}

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
}

/** GETs `path` (null: nothing), again every `refreshMs` when given; a newer path cancels the older request. */
export function useJson<T>(path: string | null, refreshMs?: number): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: undefined, error: undefined, loading: path !== null });
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    if (refreshMs === undefined) return;
    const timer = setInterval(refresh, refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs, refresh]);
  useEffect(() => {
    setState({ data: undefined, error: undefined, loading: path !== null });
  }, [path]);
  useEffect(() => {
    if (path === null) return;
    const abort = new AbortController();
    // An answer that arrives after the path changed (or the page went away) is dropped.
    getJson<T>(path, abort.signal).then(
      (data) => {
        if (!abort.signal.aborted) setState({ data, error: undefined, loading: false });
      },
      (error: Error) => {
        if (!abort.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => abort.abort();
  }, [path, tick]);
  return state;
}
