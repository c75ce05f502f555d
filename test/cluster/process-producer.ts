// Runs process-acks-all-producer.py (confluent-kafka-python 1.7.0 under /usr/bin/python3) and collects its
// delivery reports as they arrive, for the process-level cluster tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./process-acks-all-producer.py', import.meta.url));
export const PYTHON = '/usr/bin/python3';

export interface Delivery {
  v: string;
  p: number;
  /** Set when acknowledged. */
  o?: number;
  /** Set when reported failed. */
  err?: string;
  /** Date.now() when the report was read. */
  atMs: number;
}

export interface ProducerSummary {
  acked: number;
  failed: number;
  unresolved: number;
  seconds: number;
}

export interface RunningProducer {
  deliveries: Delivery[];
  acked(partition?: number): number;
  done: Promise<ProducerSummary>;
  stderr(): string;
  kill(): void;
}

export function runAcksAllProducer(options: { bootstrap: string; topic: string; count: number; partitions: number; rate: number; idempotence?: boolean }): RunningProducer {
  const child: ChildProcess = spawn(
    PYTHON,
    [
      SCRIPT,
      '--bootstrap', options.bootstrap,
      '--topic', options.topic,
      '--count', String(options.count),
      '--partitions', String(options.partitions),
      '--rate', String(options.rate),
      '--idempotence', String(options.idempotence ?? true),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const deliveries: Delivery[] = [];
  const ackedBy = new Map<number, number>();
  let ackedTotal = 0;
  let partial = '';
  let stderr = '';
  let summary: ProducerSummary | undefined;
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    const now = Date.now();
    for (const line of lines) {
      if (line === '') continue;
      const obj = JSON.parse(line) as Record<string, unknown>;
      if (obj.done === true) {
        summary = obj as unknown as ProducerSummary;
        continue;
      }
      const d = { ...(obj as unknown as Delivery), atMs: now };
      deliveries.push(d);
      if (d.o !== undefined) {
        ackedTotal++;
        ackedBy.set(d.p, (ackedBy.get(d.p) ?? 0) + 1);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-200_000);
  });
  const done = new Promise<ProducerSummary>((resolve, reject) => {
    child.once('exit', (code, signal) => {
      if (code === 0 && summary !== undefined) resolve(summary);
      else reject(new Error(`producer exited with ${code ?? signal} before its summary:\n${stderr.slice(-5000)}`));
    });
  });
  // Whatever the test does, the producer does not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  return {
    deliveries,
    acked: (partition) => (partition === undefined ? ackedTotal : (ackedBy.get(partition) ?? 0)),
    done,
    stderr: () => stderr,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
