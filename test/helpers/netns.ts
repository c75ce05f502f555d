/**
 * A Linux network namespace joined to the host by one veth pair, for process-level tests that need a real network
 * partition between brokers (issue 14): the broker-side fault rules (src/faults) cut one API between two brokers,
 * SIGSTOP freezes a whole process; a namespace cuts one broker off from etcd, from the other brokers and from host
 * clients while it keeps running and serving whoever is inside the namespace with it.
 *
 *   host namespace                                   namespace <name>
 *   hostAddress 10.254.X.1/24 on veth <hostLink>  ↔  nsAddress 10.254.X.2/24 on veth <nsLink>, lo up
 *
 * - `cut()` sets the namespace side of the veth down: the namespace's route to 10.254.X.0/24 goes, so its
 *   processes get "network unreachable" for the host side, and packets from the host to nsAddress are lost. Both
 *   addresses stay local addresses of their own namespace: host processes keep using hostAddress (etcd and the
 *   other brokers listen there), processes in the namespace keep reaching nsAddress. `heal()` sets it up again.
 * - `commandPrefix` (`ip netns exec <name>`) runs a command inside; `ip netns exec` execs it, so the pid is the
 *   command's own (spawn-broker.ts relies on that for SIGKILL / SIGSTOP).
 * - Names carry the test process's pid and a counter (`eddy<pid>n<k>`, veths `eh…` / `en…`, within the 15
 *   characters Linux allows), and X is derived from the pid, skipping a /24 already on some interface, so parallel
 *   test runs on one machine do not collide.
 * - `destroy()` deletes the host veth (which removes its peer) and the namespace; it is idempotent. Namespaces still
 *   alive when the test process exits are destroyed then too, so a failed test leaves none behind (a SIGKILLed
 *   test process can leave `eddy<pid>n<k>`: `ip netns del` it).
 * - Needs root and iproute2 (CI runs as root and installs it, .ci/run). When `ip netns add` fails,
 *   createNetNamespace throws naming that requirement: the test fails, it is not skipped.
 */
import { spawnSync } from 'node:child_process';

export interface NetNamespace {
  name: string;
  /** 10.254.X.1: the host side of the veth, usable by host processes even while cut. */
  hostAddress: string;
  /** 10.254.X.2: the namespace side. */
  nsAddress: string;
  hostLink: string;
  nsLink: string;
  /** `['ip', 'netns', 'exec', name]`: prepend to a command to run it inside. */
  commandPrefix: string[];
  /** Sets the namespace side of the veth down (a partition); idempotent. */
  cut(): void;
  /** Sets it up again; idempotent. */
  heal(): void;
  destroy(): void;
}

const alive = new Set<NetNamespace>();
let created = 0;
let exitHookInstalled = false;

function ip(args: string[], allowFailure = false): string {
  const res = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (res.error !== undefined || res.status !== 0) {
    if (allowFailure) return '';
    const why = res.error?.message ?? `exit ${res.status}: ${res.stderr.trim()}`;
    throw new Error(`\`ip ${args.join(' ')}\` failed (${why}); network namespace tests need root and iproute2`);
  }
  return res.stdout;
}

/** A /24 in 10.254.0.0/16 derived from the pid, skipping any already assigned on this machine's host namespace. */
function pickSubnet(): number {
  const used = new Set<number>();
  for (const m of ip(['-o', '-4', 'addr', 'show']).matchAll(/inet 10\.254\.(\d+)\./g)) used.add(Number(m[1]));
  for (const m of ip(['-4', 'route', 'show']).matchAll(/^10\.254\.(\d+)\./gm)) used.add(Number(m[1]));
  for (let k = 0; k < 254; k++) {
    const x = ((process.pid + created + k) % 254) + 1;
    if (!used.has(x)) return x;
  }
  throw new Error('no free /24 left in 10.254.0.0/16 for a test network namespace');
}

export function createNetNamespace(): NetNamespace {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const ns of alive) ns.destroy();
    });
  }
  const k = created++;
  const name = `eddy${process.pid}n${k}`;
  const hostLink = `eh${process.pid}n${k}`;
  const nsLink = `en${process.pid}n${k}`;
  const x = pickSubnet();
  const hostAddress = `10.254.${x}.1`;
  const nsAddress = `10.254.${x}.2`;
  const ns: NetNamespace = {
    name,
    hostAddress,
    nsAddress,
    hostLink,
    nsLink,
    commandPrefix: ['ip', 'netns', 'exec', name],
    cut: () => void ip(['-n', name, 'link', 'set', nsLink, 'down']),
    heal: () => void ip(['-n', name, 'link', 'set', nsLink, 'up']),
    destroy() {
      if (!alive.delete(ns)) return;
      ip(['link', 'del', hostLink], true);
      ip(['netns', 'del', name], true);
    },
  };
  ip(['netns', 'add', name]);
  alive.add(ns);
  try {
    ip(['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', nsLink]);
    ip(['link', 'set', nsLink, 'netns', name]);
    ip(['addr', 'add', `${hostAddress}/24`, 'dev', hostLink]);
    ip(['link', 'set', hostLink, 'up']);
    ip(['-n', name, 'addr', 'add', `${nsAddress}/24`, 'dev', nsLink]);
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    ip(['-n', name, 'link', 'set', nsLink, 'up']);
  } catch (err) {
    ns.destroy();
    throw err;
  }
  return ns;
}
