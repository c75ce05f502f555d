// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, highest first.
//
//   npx tsx scripts/bench/profile-summary.ts FILE.cpuprofile [TOP]
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  function: string;
  location: string;
  selfMs: number;
  selfPercent: number;
}

export function summariseProfile(file: string, top = 15): { totalMs: number; idlePercent: number; entries: ProfileEntry[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const dt = profile.timeDeltas[i] ?? 0;
    totalUs += dt;
    const name = node.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') idleUs += dt;
    const url = node.callFrame.url;
    const where = url ? `${shortUrl(url)}:${node.callFrame.lineNumber + 1}` : '';
    const key = `${name}\t${where}`;
    selfUs.set(key, (selfUs.get(key) ?? 0) + dt);
  }
  const entries = [...selfUs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, us]) => {
      const [fn, location] = key.split('\t') as [string, string];
      return { function: fn, location, selfMs: us / 1000, selfPercent: (100 * us) / Math.max(1, totalUs) };
    });
  return { totalMs: totalUs / 1000, idlePercent: (100 * idleUs) / Math.max(1, totalUs), entries };
}

function shortUrl(url: string): string {
  const p = url.replace(/^file:\/\//, '');
  const i = p.indexOf('/node_modules/');
  if (i >= 0) return p.slice(i + 1);
  const d = p.indexOf('/dist/');
  if (d >= 0) return p.slice(d + 1);
  return p.startsWith('node:') ? p : path.basename(p);
}

export function formatProfile(summary: ReturnType<typeof summariseProfile>): string {
  const lines = [`total ${summary.totalMs.toFixed(0)} ms sampled, idle ${summary.idlePercent.toFixed(1)}%`];
  lines.push('| self ms | self % | function | location |', '|---:|---:|---|---|');
  for (const e of summary.entries) {
    lines.push(`| ${e.selfMs.toFixed(1)} | ${e.selfPercent.toFixed(1)} | ${e.function} | ${e.location} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: profile-summary.ts FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(summariseProfile(file, Number(process.argv[3] ?? 15)))}\n`);
}
