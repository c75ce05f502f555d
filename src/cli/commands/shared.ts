// What every client command shares: the --bootstrap and --json options, one place that turns any failure into one
// line on stderr and an exit code, and the table and JSON printers.
//
//   outcome                                          exit  stderr
//   ok                                               0     -
//   Kafka error in a response (KafkaClientError)     1     eddy: UNKNOWN_TOPIC_OR_PARTITION: This server does not …
//   connection refused / closed / timed out          1     eddy: cannot connect to 127.0.0.1:9092: ECONNREFUSED
//   TLS failure                                      1     eddy: cannot connect to 127.0.0.1:9093: TLS handshake
//                                                          failed: self-signed certificate in certificate chain …
//   SASL failure (the broker's answer)               1     eddy: SASL_AUTHENTICATION_FAILED: Authentication failed …
//   bad security flag or --command-config (client-   2     eddy: --sasl-username needs security protocol …
//     security.ts)
//   bad flag value found by the command (UsageError) 2     eddy: --config "x": expected key=value
//   flags yargs refuses (unknown, missing)           2     (main.ts's .fail handler)
//   anything else (a bug)                            1     eddy: <message>
import type { Argv } from 'yargs';
import { KafkaClient } from '../../client/client.js';
import { ConnectionError, KafkaClientError } from '../../client/errors.js';
import { SaslClientError } from '../../client/sasl.js';
import { resolveClientSecurity, securityOptions, type SecurityArgs } from './client-security.js';
import { UsageError } from './usage-error.js';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

export interface ClientArgs extends SecurityArgs {
  bootstrap: string;
  json: boolean;
}

export { UsageError };

/** Adds --bootstrap, --json and the security flags (client-security.ts) to a command. */
export function clientOptions<T>(y: Argv<T>): Argv<T & ClientArgs> {
  return securityOptions(y)
    .option('bootstrap', {
      alias: 'b',
      type: 'string',
      default: DEFAULT_BOOTSTRAP,
      describe: 'Broker address(es), host:port[,host:port…]',
      requiresArg: true,
    })
    .option('json', { type: 'boolean', default: false, describe: 'Print JSON instead of tables' }) as Argv<T & ClientArgs>;
}

/** Prints `err` as one line and sets the exit code (table in the header). */
export function reportError(err: unknown): void {
  let code = 1;
  let message: string;
  if (err instanceof UsageError) {
    code = 2;
    message = err.message;
  } else if (err instanceof KafkaClientError || err instanceof ConnectionError || err instanceof SaslClientError) {
    message = err.message;
  } else if (err instanceof RangeError && /bootstrap/.test(err.message)) {
    code = 2;
    message = err.message;
  } else {
    message = (err as Error)?.message ?? String(err);
  }
  process.stderr.write(`eddy: ${message}\n`);
  process.exitCode = code;
}

/**
 * Runs `fn` with a client for `--bootstrap`, closes it, and reports any failure. Never rejects: yargs' handler
 * returns normally and the exit code carries the outcome.
 */
export async function withClient(args: ClientArgs, fn: (client: KafkaClient) => Promise<void>): Promise<void> {
  let client: KafkaClient | undefined;
  try {
    const security = await resolveClientSecurity(args);
    client = new KafkaClient({ bootstrap: args.bootstrap, clientId: 'eddy-cli', security });
    await fn(client);
  } catch (err) {
    reportError(err);
  } finally {
    await client?.close();
  }
}

/** Parses repeated `key=value` flags into an object; a malformed one is a UsageError naming the flag and input. */
export function parseKeyValues(values: unknown, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of toStringList(values)) {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new UsageError(`--${flag} "${raw}": expected key=value`);
    out[raw.slice(0, eq)] = raw.slice(eq + 1);
  }
  return out;
}

export function toStringList(values: unknown): string[] {
  if (values === undefined || values === null) return [];
  return (Array.isArray(values) ? values : [values]).map(String);
}

/** An integer flag value; a UsageError naming the flag and echoing the raw input otherwise. */
export function parseIntFlag(raw: unknown, flag: string, min = -Infinity): number {
  const s = String(raw);
  if (!/^-?\d+$/.test(s) || Number(s) < min || !Number.isSafeInteger(Number(s))) {
    throw new UsageError(`--${flag} ${s}: expected an integer${min > -Infinity ? ` >= ${min}` : ''}`);
  }
  return Number(s);
}

export function parseBigIntFlag(raw: unknown, flag: string, min?: bigint): bigint {
  const s = String(raw);
  if (!/^-?\d+$/.test(s) || (min !== undefined && BigInt(s) < min)) {
    throw new UsageError(`--${flag} ${s}: expected an integer${min !== undefined ? ` >= ${min}` : ''}`);
  }
  return BigInt(s);
}

/** Prints rows as a left-aligned table with a header line. */
export function printTable(headers: string[], rows: Array<Array<string | number | bigint | null | undefined>>): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  process.stdout.write(`${[line(headers), ...cells.map(line)].join('\n')}\n`);
}

/** Prints `key  value` pairs aligned. */
export function printFields(fields: Array<[string, string | number | bigint | null | undefined]>): void {
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) process.stdout.write(`${k.padEnd(width)}  ${v === null || v === undefined ? '-' : String(v)}\n`);
}

/** JSON with bigints as numbers when exact, else strings. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(
    value,
    (_k, v) => (typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v),
    indent,
  );
}

export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

/** 16 bytes as Kafka prints a Uuid (URL-safe base64 without padding). */
export function formatUuid(id: Buffer): string {
  return id.toString('base64url');
}

/**
 * A progress line on stderr, redrawn at most once a second and only when stderr is a terminal (so pipes and
 * test output never see it). `done()` erases it.
 */
export function progress(render: () => string): { done(): void } {
  if (!process.stderr.isTTY) return { done() {} };
  const timer = setInterval(() => process.stderr.write(`\r\x1b[K${render()}`), 1000);
  timer.unref();
  return {
    done() {
      clearInterval(timer);
      process.stderr.write('\r\x1b[K');
    },
  };
}

/**
 * yargs' failure handler for the client commands: a usage error (unknown or missing flag, missing value) is one
 * line and exit 2, naming the flag as typed.
 */
export function usageFail(message: string | undefined, err: Error | undefined): void {
  const text = message ?? err?.message ?? 'usage error';
  const missing = /^Not enough arguments following: (.+)$/.exec(text);
  process.stderr.write(`eddy: ${missing ? `--${missing[1]} needs a value` : text}\nRun \`eddy <command> --help\` for usage.\n`);
  process.exit(2);
}
