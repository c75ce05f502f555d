// `eddy fault add|list|clear`: fault-injection rules of a running Eddy, over its HTTP admin listener (`eddy start
// --http-port N`; /v1/faults, see src/http/index.ts). Kafka has no such API, so this is the one command that talks
// HTTP instead of the Kafka protocol, and it works against Eddy only.
//
//   outcome                                          exit  stderr
//   ok                                               0     -
//   rule refused (400, e.g. INVALID_FAULT_RULE)      2     eddy: INVALID_FAULT_RULE: error "X": expected …
//   unknown rule id (404)                            1     eddy: UNKNOWN_FAULT_RULE: no fault rule with id "7"
//   admin listener unreachable                       1     eddy: cannot reach the admin listener at http://…: ECONNREFUSED
import type { Argv, CommandModule } from 'yargs';
import { parseIntFlag, printJson, printTable, reportError, usageFail, UsageError } from './shared.js';

export const DEFAULT_ADMIN = 'http://127.0.0.1:9644';

interface FaultArgs {
  admin: string;
  json: boolean;
  [key: string]: unknown;
}

/** A refusal from the admin listener: its code and message, and the exit code it maps to. */
class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

function adminOptions<T>(y: Argv<T>): Argv<T & FaultArgs> {
  return y
    .option('admin', { type: 'string', default: DEFAULT_ADMIN, requiresArg: true, describe: 'URL of the broker\'s HTTP admin listener (eddy start --http-port)' })
    .option('json', { type: 'boolean', default: false, describe: 'Print JSON instead of tables' }) as Argv<T & FaultArgs>;
}

async function call(admin: string, method: string, path: string, body?: unknown): Promise<unknown> {
  let base: URL;
  try {
    base = new URL(admin);
  } catch {
    throw new UsageError(`--admin ${JSON.stringify(admin)}: expected a URL such as ${DEFAULT_ADMIN}`);
  }
  let res: Response;
  try {
    res = await fetch(new URL(path, base), {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach the admin listener at ${base.origin}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new Error(`the admin listener at ${base.origin} answered ${res.status} with something other than JSON`);
  }
  if (!res.ok) {
    const e = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new AdminError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? res.statusText);
  }
  return parsed;
}

/** Runs a fault command; every failure is one line and an exit code (table in the header). */
function run(fn: (args: FaultArgs) => Promise<void>) {
  return async (args: Record<string, unknown>) => {
    try {
      await fn(args as FaultArgs);
    } catch (err) {
      if (err instanceof AdminError) {
        process.stderr.write(`eddy: ${err.message}\n`);
        process.exitCode = err.status === 400 ? 2 : 1;
      } else reportError(err);
    }
  };
}

interface RuleView {
  id: number;
  api: string;
  topic: string | null;
  partition: number | null;
  clientId: string | null;
  action: string;
  error: string | null;
  latencyMs: number | null;
  count: number | null;
  durationMs: number | null;
  fired: number;
  remaining: number | null;
  state: string;
  expiresAt: string | null;
}

function describeAction(r: RuleView): string {
  if (r.action === 'error') return `error ${r.error}`;
  if (r.action === 'latency') return `latency ${r.latencyMs}ms`;
  return r.action;
}

function printRules(rules: RuleView[]): void {
  printTable(
    ['ID', 'API', 'TOPIC', 'PARTITION', 'CLIENT-ID', 'ACTION', 'FIRED', 'REMAINING', 'STATE', 'EXPIRES'],
    rules.map((r) => [r.id, r.api, r.topic, r.partition, r.clientId, describeAction(r), r.fired, r.remaining, r.state, r.expiresAt]),
  );
}

async function addRule(args: FaultArgs): Promise<void> {
  const actions = [args.error !== undefined, args['latency-ms'] !== undefined, args.drop === true, args.stall === true].filter(Boolean).length;
  if (actions !== 1) throw new UsageError('give exactly one of --error, --latency-ms, --drop, --stall');
  const rule: Record<string, unknown> = { api: String(args.api) };
  if (args.topic !== undefined) rule.topic = String(args.topic);
  if (args.partition !== undefined) rule.partition = parseIntFlag(args.partition, 'partition', 0);
  if (args['client-id'] !== undefined) rule.clientId = String(args['client-id']);
  if (args.error !== undefined) rule.error = String(args.error);
  if (args['latency-ms'] !== undefined) rule.latencyMs = parseIntFlag(args['latency-ms'], 'latency-ms', 1);
  if (args.drop === true) rule.drop = true;
  if (args.stall === true) rule.stall = true;
  if (args.count !== undefined) rule.count = parseIntFlag(args.count, 'count', 1);
  if (args['duration-ms'] !== undefined) rule.durationMs = parseIntFlag(args['duration-ms'], 'duration-ms', 1);
  const created = (await call(args.admin, 'POST', '/v1/faults', rule)) as RuleView;
  if (args.json) printJson(created);
  else process.stdout.write(`Added fault rule ${created.id}: ${created.api} ${describeAction(created)}.\n`);
}

async function listRules(args: FaultArgs): Promise<void> {
  const { rules } = (await call(args.admin, 'GET', '/v1/faults')) as { rules: RuleView[] };
  if (args.json) printJson(rules);
  else printRules(rules);
}

async function clearRules(args: FaultArgs): Promise<void> {
  if (args.id !== undefined) {
    const id = parseIntFlag(args.id, 'id', 1);
    await call(args.admin, 'DELETE', `/v1/faults/${id}`);
    if (args.json) printJson({ removed: 1 });
    else process.stdout.write(`Removed fault rule ${id}.\n`);
    return;
  }
  const { removed } = (await call(args.admin, 'DELETE', '/v1/faults')) as { removed: number };
  if (args.json) printJson({ removed });
  else process.stdout.write(`Removed ${removed} fault rule(s).\n`);
}

export const faultCommand: CommandModule = {
  command: 'fault',
  describe: 'Inject faults into a running Eddy (needs eddy start --http-port)',
  builder: (y: Argv) =>
    y
      .command(
        'add',
        'Add a fault rule: an API answers an error, is delayed, dropped or stalled',
        (c) =>
          adminOptions(c)
            .option('api', { type: 'string', demandOption: true, requiresArg: true, describe: 'Kafka API name or key (Produce, Fetch, Metadata, …)' })
            .option('topic', { type: 'string', requiresArg: true, describe: 'Only requests for this topic (Produce, Fetch, ListOffsets)' })
            .option('partition', { type: 'string', requiresArg: true, describe: 'Only this partition of --topic' })
            .option('client-id', { type: 'string', requiresArg: true, describe: 'Only requests from this client id' })
            .option('error', { type: 'string', requiresArg: true, describe: 'Answer with this Kafka error (name or code)' })
            .option('latency-ms', { type: 'string', requiresArg: true, describe: 'Answer normally after this delay' })
            .option('drop', { type: 'boolean', describe: 'Close the connection without answering' })
            .option('stall', { type: 'boolean', describe: 'Do not answer until the rule is cleared or --duration-ms ends' })
            .option('count', { type: 'string', requiresArg: true, describe: 'Only the next N matching requests' })
            .option('duration-ms', { type: 'string', requiresArg: true, describe: 'Only for this long from now' })
            .example('$0 fault add --admin http://127.0.0.1:9644 --api Produce --error NOT_LEADER_OR_FOLLOWER --count 3', 'The next 3 Produce requests fail with a retriable error')
            .example('$0 fault add --api Fetch --topic orders --latency-ms 500 --duration-ms 10000', 'Slow fetches of one topic for 10 s')
            .example('$0 fault add --api Metadata --drop --count 1', 'Drop the connection of the next Metadata request'),
        run(addRule),
      )
      .command(
        'list',
        'List fault rules with how often each fired',
        (c) => adminOptions(c).example('$0 fault list', 'Rules of the broker at http://127.0.0.1:9644').example('$0 fault list --json', 'As JSON'),
        run(listRules),
      )
      .command(
        'clear [id]',
        'Remove one fault rule, or all of them',
        (c) =>
          adminOptions(c)
            .positional('id', { type: 'string', describe: 'Rule id (default: every rule)' })
            .example('$0 fault clear', 'Remove every rule (stalled requests are answered)')
            .example('$0 fault clear 2', 'Remove rule 2'),
        run(clearRules),
      )
      .fail(usageFail)
      .demandCommand(1, 'Name a fault command: add, list or clear.'),
  handler: () => undefined,
};
