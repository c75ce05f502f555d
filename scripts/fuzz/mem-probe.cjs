// Preloaded into the broker under test by `fuzz --mem-probe DIR` (node --expose-gc --require this file; the
// settings come in EDDY_MEM_PROBE_* variables from run.ts). CommonJS, so that --require loads it before the CLI's
// launcher, in the broker's process only.
//
// - On each SIGUSR2: full GCs, then DIR/probe-<N>.json with process.memoryUsage() before and after them, V8's heap
//   and heap-space statistics, VmRSS/VmHWM, and RSS by mapping kind from /proc/self/smaps (`brk-heap` is glibc's
//   main arena; `anonymous` holds V8's pages, the other malloc arenas and mmapped chunks; `file` code and data
//   files), then DIR/probe-<N>.heapsnapshot when EDDY_MEM_PROBE_SNAPSHOT=1, then DIR/probe-<N>.done.
// - EDDY_MEM_PROBE_INTERVAL_MS: every interval, a full GC and one line to DIR/series.jsonl (seconds since start,
//   heapUsed, heapTotal, external, arrayBuffers, RSS, brk heap, anonymous). The GC is part of the measurement: it
//   shows what is retained, not what a broker that never forces one holds.
// - EDDY_MEM_PROBE_TRACE_BYTES=N: the JS stack of every Buffer.alloc / allocUnsafe / allocUnsafeSlow of N bytes or
//   more, appended to DIR/big-allocs.txt (the large transient buffers behind glibc's high-water marks).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');

const dir = process.env.EDDY_MEM_PROBE_DIR;
if (dir) {
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  const smapsByKind = () => {
    const kinds = {};
    let kind = 'other';
    let text = '';
    try {
      text = fs.readFileSync('/proc/self/smaps', 'utf8');
    } catch {
      return kinds;
    }
    for (const line of text.split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
      if (head) {
        const name = head[1];
        kind = name === '' ? 'anonymous' : name === '[heap]' ? 'brk-heap' : name.startsWith('[') ? name : 'file';
        continue;
      }
      const rss = /^Rss:\s+(\d+) kB/.exec(line);
      if (rss) kinds[kind] = (kinds[kind] || 0) + Number(rss[1]) * 1024;
    }
    return kinds;
  };
  const status = () => {
    const text = fs.readFileSync('/proc/self/status', 'utf8');
    const field = (name) => Number((new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text) || [0, NaN])[1]) * 1024;
    return { vmRss: field('VmRSS'), vmHwm: field('VmHWM'), rssAnon: field('RssAnon'), rssFile: field('RssFile') };
  };
  const intervalMs = Number(process.env.EDDY_MEM_PROBE_INTERVAL_MS || 0);
  if (intervalMs > 0) {
    const t0 = Date.now();
    setInterval(() => {
      global.gc?.();
      const m = process.memoryUsage();
      const kinds = smapsByKind();
      const line = { s: Math.round((Date.now() - t0) / 1000), heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss, brkHeap: kinds['brk-heap'] || 0, anonymous: kinds.anonymous || 0 };
      fs.appendFileSync(path.join(dir, 'series.jsonl'), JSON.stringify(line) + '\n');
    }, intervalMs).unref();
  }
  process.on('SIGUSR2', () => {
    const id = ++n;
    const before = process.memoryUsage();
    for (let i = 0; i < 3; i++) global.gc?.();
    const after = process.memoryUsage();
    const report = {
      id,
      at: new Date().toISOString(),
      before,
      after,
      heap: v8.getHeapStatistics(),
      spaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size }])),
      status: status(),
      smaps: smapsByKind(),
      handles: typeof process._getActiveHandles === 'function' ? process._getActiveHandles().length : null,
    };
    fs.writeFileSync(path.join(dir, `probe-${id}.json`), JSON.stringify(report, null, 1) + '\n');
    if (process.env.EDDY_MEM_PROBE_SNAPSHOT === '1') v8.writeHeapSnapshot(path.join(dir, `probe-${id}.heapsnapshot`));
    fs.writeFileSync(path.join(dir, `probe-${id}.done`), '');
  });
}
const traceBytes = Number(process.env.EDDY_MEM_PROBE_TRACE_BYTES || 0);
if (dir && traceBytes > 0) {
  for (const name of ['alloc', 'allocUnsafe', 'allocUnsafeSlow']) {
    const original = Buffer[name];
    Buffer[name] = function (size, ...rest) {
      if (size >= traceBytes) fs.appendFileSync(path.join(dir, 'big-allocs.txt'), `${name}(${size})\n${new Error().stack.split('\n').slice(2, 12).join('\n')}\n\n`);
      return original.call(this, size, ...rest);
    };
  }
}
