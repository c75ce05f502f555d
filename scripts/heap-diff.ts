// Reads V8 heap snapshots (.heapsnapshot, e.g. from `fuzz --mem-probe DIR --heap-snapshots`).
//
//   tsx scripts/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]
//       count and self size per constructor in both, sorted by the growth of self size
//   tsx scripts/heap-diff.ts --retainers 'object Connection' SNAPSHOT [--depth D] [--top N]
//       what keeps those nodes alive: each one's shortest path from the GC roots (weak edges ignored), its last D
//       steps grouped, with the count and self size of the nodes behind each path
//
// Names are as the diff prints them: objects, closures and native or hidden nodes by type and name
// (`object FetchSession`, `native system / JSArrayBufferData` for ArrayBuffer memory), the rest by type
// (`(string)`, `(code)`, `(array)`): their names are contents, not constructors. Self sizes only: a Map's entries
// show up as its backing `(array)`, so read the counts of the objects beside them.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const NAMED_TYPES = new Set(['object', 'closure', 'native', 'hidden', 'synthetic']);

class Snapshot {
  readonly count: number;
  private readonly raw: RawSnapshot;
  private readonly stride: number;
  private readonly at: { type: number; name: number; size: number; edges: number };
  private readonly types: string[];

  constructor(file: string) {
    this.raw = JSON.parse(readFileSync(file, 'utf8')) as RawSnapshot;
    const fields = this.raw.snapshot.meta.node_fields;
    this.stride = fields.length;
    this.at = { type: fields.indexOf('type'), name: fields.indexOf('name'), size: fields.indexOf('self_size'), edges: fields.indexOf('edge_count') };
    this.types = this.raw.snapshot.meta.node_types[0];
    this.count = this.raw.nodes.length / this.stride;
  }

  label(n: number): string {
    const type = this.types[this.raw.nodes[n * this.stride + this.at.type]!]!;
    if (!NAMED_TYPES.has(type)) return `(${type})`;
    return `${type} ${this.raw.strings[this.raw.nodes[n * this.stride + this.at.name]!]!.slice(0, 80)}`;
  }

  selfSize(n: number): number {
    return this.raw.nodes[n * this.stride + this.at.size]!;
  }

  /** Per label: nodes and self bytes. */
  totals(): Map<string, { count: number; bytes: number }> {
    const totals = new Map<string, { count: number; bytes: number }>();
    for (let n = 0; n < this.count; n++) {
      const key = this.label(n);
      const t = totals.get(key);
      if (t === undefined) totals.set(key, { count: 1, bytes: this.selfSize(n) });
      else {
        t.count++;
        t.bytes += this.selfSize(n);
      }
    }
    return totals;
  }

  /** Breadth-first from the root (node 0) over strong edges: each node's parent and the edge's name. */
  shortestRetainers(): { parent: Int32Array; edgeName: string[] } {
    const { edge_fields: ef, edge_types: et } = this.raw.snapshot.meta;
    const eStride = ef.length;
    const eType = ef.indexOf('type');
    const eName = ef.indexOf('name_or_index');
    const eTo = ef.indexOf('to_node');
    const edgeTypes = et[0];
    const first = new Int32Array(this.count + 1);
    for (let n = 0, e = 0; n < this.count; n++) {
      first[n] = e;
      e += this.raw.nodes[n * this.stride + this.at.edges]! * eStride;
    }
    first[this.count] = this.raw.edges.length;
    const parent = new Int32Array(this.count).fill(-1);
    const edgeName: string[] = new Array(this.count);
    parent[0] = 0;
    const queue = [0];
    for (let q = 0; q < queue.length; q++) {
      const n = queue[q]!;
      for (let e = first[n]!; e < first[n + 1]!; e += eStride) {
        const type = edgeTypes[this.raw.edges[e + eType]!]!;
        if (type === 'weak' || type === 'shortcut') continue;
        const to = this.raw.edges[e + eTo]! / this.stride;
        if (parent[to] !== -1) continue;
        parent[to] = n;
        const name = this.raw.edges[e + eName]!;
        // Element indices (a Map's table slot, an array index) would split one path into thousands.
        const text = type === 'element' || type === 'hidden' ? '' : String(this.raw.strings[name]);
        edgeName[to] = text === '' || /^\d+$/.test(text) ? '[]' : text.slice(0, 40);
        queue.push(to);
      }
    }
    return { parent, edgeName };
  }
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '40' }, retainers: { type: 'string' }, depth: { type: 'string', default: '6' } },
  allowPositionals: true,
});
const top = Number(values.top);
const kib = (n: number): string => (n / 1024).toFixed(1).padStart(10);

if (values.retainers !== undefined) {
  if (positionals.length !== 1) throw new Error('usage: tsx scripts/heap-diff.ts --retainers NAME SNAPSHOT [--depth D] [--top N]');
  const snap = new Snapshot(positionals[0]!);
  const { parent, edgeName } = snap.shortestRetainers();
  const depth = Number(values.depth);
  const paths = new Map<string, { count: number; bytes: number }>();
  let matched = 0;
  for (let n = 0; n < snap.count; n++) {
    if (snap.label(n) !== values.retainers) continue;
    matched++;
    const steps: string[] = [];
    for (let cur = n; cur !== 0 && parent[cur] !== -1 && steps.length < depth; cur = parent[cur]!) steps.push(`${snap.label(parent[cur]!)} .${edgeName[cur]}`);
    const key = parent[n] === -1 ? '(unreachable from the roots)' : steps.reverse().join(' → ');
    const p = paths.get(key) ?? { count: 0, bytes: 0 };
    p.count++;
    p.bytes += snap.selfSize(n);
    paths.set(key, p);
  }
  process.stdout.write(`${matched} nodes ${values.retainers}; shortest retaining paths (last ${depth} steps):\n`);
  for (const [key, p] of [...paths].sort((a, b) => b[1].bytes - a[1].bytes || b[1].count - a[1].count).slice(0, top)) {
    process.stdout.write(`${kib(p.bytes)} KiB ${String(p.count).padStart(7)}  ${key}\n`);
  }
} else {
  if (positionals.length !== 2) throw new Error('usage: tsx scripts/heap-diff.ts BEFORE.heapsnapshot AFTER.heapsnapshot [--top N]');
  const a = new Snapshot(positionals[0]!);
  const b = new Snapshot(positionals[1]!);
  const [ta, tb] = [a.totals(), b.totals()];
  const sum = (t: Map<string, { bytes: number }>) => [...t.values()].reduce((s, x) => s + x.bytes, 0);
  const rows = [...new Set([...ta.keys(), ...tb.keys()])].map((key) => {
    const x = ta.get(key) ?? { count: 0, bytes: 0 };
    const y = tb.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: y.count - x.count, bytes: y.bytes - x.bytes, after: y };
  });
  rows.sort((p, q) => Math.abs(q.bytes) - Math.abs(p.bytes));
  process.stdout.write(`nodes ${a.count} → ${b.count}, self size ${(sum(ta) / 1048576).toFixed(1)} → ${(sum(tb) / 1048576).toFixed(1)} MiB\n`);
  process.stdout.write(`${'Δ KiB'.padStart(10)} ${'Δ count'.padStart(9)} ${'after KiB'.padStart(10)} ${'after n'.padStart(9)}  constructor\n`);
  for (const r of rows.slice(0, top)) {
    process.stdout.write(`${kib(r.bytes)} ${String(r.count).padStart(9)} ${kib(r.after.bytes)} ${String(r.after.count).padStart(9)}  ${r.key}\n`);
  }
}
