// `eddy dev cluster --brokers N` (and `npm run cluster`): a local replicated cluster for trying replication and
// failover on one machine. It is a process supervisor, nothing more: it runs a local etcd and N `eddy start`
// processes that join through it, exactly as one would by hand.
//
//   step       what happens
//   etcd       `<etcd-binary> --data-dir <data-dir>/etcd` on 127.0.0.1:--etcd-port (peer --etcd-peer-port), its
//              output appended to <data-dir>/etcd.log; ready when GET /health answers "health":"true" (15 s)
//   brokers    `eddy start --node-id i --port base+i-1 --data-dir <data-dir>/broker-i --etcd <url>`, i = 1..N,
//              replication factors of the new topics (default and internal) = min(N, 3); output on our stdout,
//              each line prefixed `[broker-i]`; ready on the startup ("listening") line, JSON or pretty (it is
//              logged once the broker has joined the cluster), 60 s
//   ready      prints the bootstrap list; a broker that exits later is reported and the rest keep running (kill -9
//              one to rehearse a failure; start it again by hand with the command line printed at start)
//   stop       SIGINT / SIGTERM: the brokers are stopped one after the other (SIGTERM: controlled shutdown moves
//              each one's leaderships to the next), then etcd; a second signal SIGKILLs everything
//
// Failures at start (no etcd binary, etcd or a broker exiting before it is ready, a readiness timeout) stop what
// was started and exit 1 with the reason and the tail of the failing process's output. The children run in their
// own process groups, so a terminal's Ctrl-C reaches only this supervisor, which stops them in order (a broker
// must stop before etcd, or its controlled shutdown has nobody to talk to).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { BrokerError } from '../../errors.js';
import { LOG_FORMATS, LOG_LEVELS } from '../../logger.js';
import { usageFail, UsageError } from './shared.js';

interface DevClusterArgs {
  brokers: number;
  'data-dir': string;
  host: string;
  'base-port': number;
  'http-base-port'?: number;
  'etcd-binary': string;
  'etcd-port': number;
  'etcd-peer-port': number;
  'etcd-prefix': string;
  'log-level': string;
  'log-format': string;
}

const ETCD_READY_MS = 15_000;
const BROKER_READY_MS = 60_000;
/** Longest wait for one broker's clean stop (its controlled shutdown is bounded by the session timeout + 5 s). */
const BROKER_STOP_MS = 30_000;
const ETCD_STOP_MS = 10_000;
const TAIL_CHARS = 4000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One supervised child: its output tail (for error messages) and its exit. */
class Child {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private tail = '';
  private partial = '';

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
    private readonly onLine: (line: string) => void,
  ) {
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.tail = (this.tail + text).slice(-TAIL_CHARS);
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop()!;
      for (const line of lines) this.onLine(line);
    };
    process.stdout?.on('data', collect);
    process.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      process.once('exit', (code, signal) => {
        this.exit = { code, signal };
        if (this.partial !== '') this.onLine(this.partial);
        this.partial = '';
        resolve(this.exit);
      });
    });
  }

  get alive(): boolean {
    return this.exit === undefined;
  }

  output(): string {
    return this.tail;
  }

  describeExit(): string {
    return this.exit?.signal != null ? `signal ${this.exit.signal}` : `code ${this.exit?.code}`;
  }

  /** Sends `signal`, waits up to `timeoutMs`, then SIGKILLs. */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    if (!this.alive) return;
    this.process.kill(signal);
    const timedOut = await Promise.race([this.exited.then(() => false), sleep(timeoutMs).then(() => true)]);
    if (timedOut && this.alive) {
      this.process.kill('SIGKILL');
      await this.exited;
    }
  }
}

function checkArgs(args: DevClusterArgs): void {
  const int = (flag: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`--${flag} ${value}: expected an integer in [${min}, ${max}]`);
  };
  int('brokers', args.brokers, 1, 32);
  int('base-port', args['base-port'], 1, 65535 - args.brokers + 1);
  if (args['http-base-port'] !== undefined) int('http-base-port', args['http-base-port'], 1, 65535 - args.brokers + 1);
  int('etcd-port', args['etcd-port'], 1, 65535);
  int('etcd-peer-port', args['etcd-peer-port'], 1, 65535);
  if (args['etcd-port'] === args['etcd-peer-port']) throw new UsageError(`--etcd-peer-port ${args['etcd-peer-port']}: must differ from --etcd-port`);
}

async function etcdHealthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    return (await res.text()).includes('"health":"true"');
  } catch {
    return false;
  }
}

/** The command line of this CLI (`node [execArgv] <entry>`), so children run the same eddy as we do. */
function eddyCommand(): { command: string; args: string[] } {
  return { command: process.execPath, args: [...process.execArgv, process.argv[1]!] };
}

export async function runDevCluster(args: DevClusterArgs): Promise<void> {
  checkArgs(args);
  const etcdBinary = args['etcd-binary'];
  try {
    await access(etcdBinary, constants.X_OK);
  } catch {
    throw new BrokerError('ETCD_NOT_FOUND', `no etcd at ${etcdBinary}: install etcd (Debian: apt-get install etcd-server) or give --etcd-binary PATH`);
  }
  const dataDir = path.resolve(args['data-dir']);
  const host = args.host;
  const n = args.brokers;
  const replicationFactor = String(Math.min(n, 3));
  await mkdir(path.join(dataDir, 'etcd'), { recursive: true });
  const etcdLog: WriteStream = createWriteStream(path.join(dataDir, 'etcd.log'), { flags: 'a' });

  const children: Child[] = [];
  let stopping = false;
  const out = (line: string) => process.stdout.write(`${line}\n`);

  const stopAll = async (): Promise<void> => {
    // Brokers one after the other, newest first, then etcd.
    for (const child of children.filter((c) => c.name !== 'etcd').reverse()) await child.stop('SIGTERM', BROKER_STOP_MS);
    for (const child of children.filter((c) => c.name === 'etcd')) await child.stop('SIGTERM', ETCD_STOP_MS);
    await new Promise<void>((resolve) => etcdLog.end(resolve));
  };
  const killAll = () => {
    for (const child of children) if (child.alive) child.process.kill('SIGKILL');
  };
  // Whatever happens to us, no child outlives this process (a SIGKILL of the supervisor itself excepted).
  process.on('exit', killAll);
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      out(`[dev-cluster] second ${signal}: killing every process`);
      killAll();
      process.exit(1);
    }
    stopping = true;
    out(`[dev-cluster] ${signal}: stopping the brokers, then etcd`);
    stopAll().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const failAtStart = async (message: string): Promise<never> => {
    stopping = true;
    await stopAll();
    throw new BrokerError('DEV_CLUSTER_START', message);
  };

  // etcd
  const etcdUrl = `http://${host}:${args['etcd-port']}`;
  const peerUrl = `http://${host}:${args['etcd-peer-port']}`;
  const etcdArgs = [
    '--name', 'eddy-dev',
    '--data-dir', path.join(dataDir, 'etcd'),
    '--listen-client-urls', etcdUrl,
    '--advertise-client-urls', etcdUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `eddy-dev=${peerUrl}`,
    '--initial-cluster-state', 'new',
    '--logger', 'zap',
    '--log-level', 'warn',
  ];
  const etcd = new Child('etcd', spawn(etcdBinary, etcdArgs, { stdio: ['ignore', 'pipe', 'pipe'], detached: true }), (line) => etcdLog.write(`${line}\n`));
  children.push(etcd);
  out(`[dev-cluster] etcd ${etcdUrl} (data ${path.join(dataDir, 'etcd')}, log ${path.join(dataDir, 'etcd.log')})`);
  const etcdDeadline = Date.now() + ETCD_READY_MS;
  for (;;) {
    if (stopping) return;
    if (!etcd.alive) await failAtStart(`etcd exited at start (${etcd.describeExit()}; is another etcd on port ${args['etcd-port']}? see --etcd-port):\n${etcd.output()}`);
    if (await etcdHealthy(etcdUrl)) break;
    if (Date.now() > etcdDeadline) await failAtStart(`etcd at ${etcdUrl} not healthy within ${ETCD_READY_MS} ms:\n${etcd.output()}`);
    await sleep(100);
  }

  // brokers
  const eddy = eddyCommand();
  const bootstrap: string[] = [];
  const ready: Array<Promise<void>> = [];
  for (let id = 1; id <= n; id++) {
    const port = args['base-port'] + id - 1;
    const brokerArgs = [
      'start',
      '--node-id', String(id),
      '--host', host,
      '--port', String(port),
      '--data-dir', path.join(dataDir, `broker-${id}`),
      '--etcd', etcdUrl,
      '--etcd-prefix', args['etcd-prefix'],
      '--default-replication-factor', replicationFactor,
      '--offsets-topic-replication-factor', replicationFactor,
      '--transaction-state-log-replication-factor', replicationFactor,
      '--log-level', args['log-level'],
      '--log-format', args['log-format'],
      ...(args['http-base-port'] !== undefined ? ['--http-port', String(args['http-base-port'] + id - 1)] : []),
    ];
    let onReady!: () => void;
    const isReady = new Promise<void>((resolve) => (onReady = resolve));
    const prefix = `[broker-${id}] `;
    const child = new Child(`broker-${id}`, spawn(eddy.command, [...eddy.args, ...brokerArgs], { stdio: ['ignore', 'pipe', 'pipe'], detached: true }), (line) => {
      // The startup line, as JSON (`"msg":"listening"`) or pretty (logger.ts: `INFO: Eddy <version> listening on …`).
      if (/"msg":"listening"|INFO: Eddy \S+ listening on /.test(line)) onReady();
      out(prefix + line);
    });
    children.push(child);
    child.exited.then(() => {
      if (!stopping) out(`[dev-cluster] broker ${id} exited (${child.describeExit()}); the others keep running. Start it again with:\n  eddy ${brokerArgs.join(' ')}`);
    });
    ready.push(
      Promise.race([
        isReady,
        child.exited.then(() => Promise.reject(new Error(`broker ${id} exited at start (${child.describeExit()}):\n${child.output()}`))),
        sleep(BROKER_READY_MS).then(() => Promise.reject(new Error(`broker ${id} not ready within ${BROKER_READY_MS} ms:\n${child.output()}`))),
      ]),
    );
    bootstrap.push(`${host}:${port}`);
  }
  try {
    await Promise.all(ready);
  } catch (err) {
    if (stopping) return;
    await failAtStart((err as Error).message);
  }
  if (stopping) return;
  out(`[dev-cluster] ready: ${n} broker(s), bootstrap ${bootstrap.join(',')} (etcd ${etcdUrl}); Ctrl-C stops the cluster`);
  // Runs until a signal: the child processes keep the event loop alive.
}

function devClusterOptions(y: Argv) {
  return y
    .option('brokers', { type: 'number', default: 3, describe: 'How many brokers (node ids 1..N)' })
    .option('data-dir', { type: 'string', default: './data/cluster', describe: 'etcd data in <data-dir>/etcd, broker i in <data-dir>/broker-i' })
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'Interface of etcd and the brokers' })
    .option('base-port', { type: 'number', default: 9092, describe: 'Broker i listens on base-port + i - 1' })
    .option('http-base-port', { type: 'number', describe: 'Broker i\'s HTTP admin listener (/v1/faults, /metrics) on http-base-port + i - 1 (default off)' })
    .option('etcd-binary', { type: 'string', default: process.env.EDDY_ETCD_BINARY ?? '/usr/bin/etcd', describe: 'The etcd executable (Debian: apt-get install etcd-server)' })
    .option('etcd-port', { type: 'number', default: 2379, describe: 'etcd client port' })
    .option('etcd-peer-port', { type: 'number', default: 2380, describe: 'etcd peer port' })
    .option('etcd-prefix', { type: 'string', default: '/eddy', describe: 'Key prefix of the cluster in etcd' })
    .option('log-level', { type: 'string', choices: LOG_LEVELS, default: 'info', describe: 'Brokers\' log level' })
    .option('log-format', { type: 'string', choices: LOG_FORMATS, default: 'pretty', describe: 'Brokers\' log format' });
}

export const devCommand: CommandModule = {
  command: 'dev',
  describe: 'Local development helpers: a replicated cluster on this machine',
  builder: (y: Argv) =>
    y
      .command(
        'cluster',
        'Start a local etcd and N brokers joined through it, until Ctrl-C',
        (c) => devClusterOptions(c).example('$0 dev cluster --brokers 3', 'etcd on 2379, brokers on 9092-9094, data in ./data/cluster'),
        async (args) => {
          // Errors are reported here (usage: exit 2; anything else: 1), not left to the subcommand's .fail().
          try {
            await runDevCluster(args as unknown as DevClusterArgs);
          } catch (err) {
            const usage = err instanceof UsageError;
            const message = err instanceof BrokerError ? `${err.message} [${err.code}]` : ((err as Error).message ?? String(err));
            process.stderr.write(`eddy: ${message}\n`);
            process.exit(usage ? 2 : 1);
          }
        },
      )
      .fail(usageFail)
      .demandCommand(1, 'Name a dev command: cluster.'),
  handler: () => undefined,
};
