#!/usr/bin/env node
// The `eddy` command: a thin yargs layer over createBroker().
//
// The CLI refuses what it does not understand rather than guessing: an unknown command or flag, a flag without
// its value (`--port` alone), a value that is not a number (`--port abc`, `--port=`) or out of range. Each error is
// one line on stderr naming the flag and echoing what was typed. Exit codes:
//   0  ok (including a clean stop on SIGINT/SIGTERM)
//   1  runtime error (port in use, data dir locked by another broker, an unexpected failure)
//   2  usage error (bad command, flag or value; a data dir that cannot be created or written: [DATA_DIR])
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BrokerError } from '../errors.js';
import { InvalidConfigError } from '../metadata/broker-config.js';
import { EDDY_VERSION } from '../version.js';
import { runStart, startOptions } from './start.js';
import { CLIENT_COMMAND_NAMES, clientCommands } from './commands/index.js';

const EXIT_RUNTIME_ERROR = 1;
const EXIT_USAGE = 2;

/** BrokerError codes that mean "what you asked for cannot work": a usage error, exit 2. */
const USAGE_ERROR_CODES = new Set(['USAGE', 'INVALID_CONFIG', 'INVALID_OPTION', 'DATA_DIR']);

/** The commands this CLI has (anything else is an "unknown command"). */
const COMMANDS: readonly string[] = ['start', ...CLIENT_COMMAND_NAMES];

const HELP_HINT = 'Run `eddy --help` for usage.';

function exit(message: string, code: number): never {
  process.stderr.write(`eddy: ${message}\n`);
  process.exit(code);
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The values typed for `--name` (`--name v` or `--name=v`, also the camelCase spelling), in order. */
function rawValues(argv: readonly string[], name: string): string[] {
  const spellings = new Set([`--${name}`, `--${name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())}`]);
  const values: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') break;
    const eq = token.indexOf('=');
    if (eq > 0 && spellings.has(token.slice(0, eq))) values.push(token.slice(eq + 1));
    else if (spellings.has(token) && i + 1 < argv.length) values.push(argv[++i]!);
  }
  return values;
}

/** A JSON-quoted echo of what was typed, so an empty or spaced value is visible. */
function echo(value: string): string {
  return /^[\w.:/+-]+$/.test(value) ? value : JSON.stringify(value);
}

/**
 * Flags that take a value must get one, and numeric flags a number as typed: yargs would read `--port` alone as
 * the default, `--port=` as 0 and `--port abc` as NaN.
 */
function strictValues<T>(y: Argv<T>, argv: readonly string[]): Argv<T> {
  // getOptions() is public yargs API, missing from @types/yargs.
  const declared = (y as unknown as { getOptions(): { number: string[]; string: string[]; array: string[] } }).getOptions();
  // Repeatable flags (declared as arrays, e.g. --sasl-user) may be given more than once.
  const repeatable = new Set(declared.array);
  const isFlagName = (k: string) => !/[A-Z]/.test(k) && !repeatable.has(k);
  const numbers = declared.number.filter(isFlagName);
  const strings = declared.string.filter(isFlagName);
  // A failed check returns its message (yargs then calls fail() with it, as for its own usage errors).
  return y.requiresArg([...numbers, ...strings]).check((args) => {
    for (const key of [...numbers, ...strings]) {
      const typed = rawValues(argv, key);
      if (typed.length > 1) return `--${key} given ${typed.length} times (${typed.map(echo).join(', ')}): give it once`;
      if (typed.length === 0 && Array.isArray(args[key])) return `--${key} given more than once: give it once`;
    }
    for (const key of numbers) {
      const typed = rawValues(argv, key)[0];
      if (typed !== undefined && (typed.trim() === '' || !Number.isFinite(Number(typed)))) return `--${key} ${echo(typed)}: not a number`;
    }
    return true;
  });
}

/** An INVALID_CONFIG error in the CLI's terms: the flag and the value as typed. */
function describeConfigError(err: InvalidConfigError, argv: readonly string[]): string {
  const flag = kebab(err.option);
  const typed = rawValues(argv, flag).at(-1);
  const value = typed !== undefined ? echo(typed) : `${String(err.value)} (the default)`;
  return `--${flag} ${value}: expected ${err.expected} [${err.code}]`;
}

/** yargs's own messages, reworded to name the flag the way it is typed. */
function describeUsageError(message: string, argv: readonly string[]): string {
  const first = argv.find((a) => !a.startsWith('-'));
  if (first !== undefined && !COMMANDS.includes(first) && argv[0] === first) {
    return `unknown command ${JSON.stringify(first)} (commands: ${COMMANDS.join(', ')})`;
  }
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  if (unknown) {
    // yargs names each unknown flag twice (as typed and camelCased); name it once, as typed.
    const names = unknown[1]!.split(', ').filter((n) => !/[A-Z]/.test(n) || !unknown[1]!.split(', ').includes(kebab(n)));
    return `unknown ${names.length > 1 ? 'flags' : 'flag'} ${names.map((n) => (n.length > 1 ? `--${n}` : `-${n}`)).join(', ')}`;
  }
  const missing = /^Not enough arguments following: (.+)$/.exec(message);
  if (missing) return `--${missing[1]} needs a value`;
  const choice = /Argument: (\S+), Given: (.+), Choices: (.+)$/m.exec(message);
  if (choice) {
    const typed = rawValues(argv, choice[1]!).at(-1);
    const choices = choice[3]!.split(', ').map((c) => c.replace(/^"|"$/g, ''));
    return `--${choice[1]} ${typed !== undefined ? echo(typed) : choice[2]}: expected one of ${choices.join(', ')}`;
  }
  return message;
}

/**
 * yargs renders the whole help text right after it starts a command's handler (usage.cacheHelpMessage, kept for
 * a failure the handler reports later). For `start` that is ~40 ms of text layout on the startup path for a help
 * text nobody sees: our handlers print their own one-line errors (main's catch, .fail below). So the cache is
 * skipped, through yargs's internal methods (yargs 17-18); should they be missing, only the time is lost.
 */
function skipHelpCache<T>(y: Argv<T>): Argv<T> {
  type Internals = { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };
  const usage = (y as unknown as Internals).getInternalMethods?.().getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
  return y;
}

async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('eddy')
    .usage('$0 <command> [options]\n\nEddy: a Kafka-compatible message broker for Node.js.')
    .command(
      'start',
      'Run the broker in the foreground',
      (y) => skipHelpCache(strictValues(startOptions(y), argv)).example('$0 start --port 9092 --data-dir ./data', 'a broker on 127.0.0.1:9092').example('$0 start --dev --log-format pretty', 'a throwaway dev broker: temporary data dir, no rebalance delay'),
      async (args) => {
        await runStart(args, argv);
      },
    )
    .command(clientCommands)
    .demandCommand(1, 'Name a command, e.g. `eddy start`.')
    .strict()
    .help()
    .alias('help', 'h')
    .version(EDDY_VERSION)
    .fail((message, err) => {
      // yargs's own refusals arrive as YError and a failed .check() as its message string; any other error is
      // the command failing, for the catch below.
      if (err instanceof Error && err.name !== 'YError') throw err;
      exit(`${describeUsageError(message ?? String(err ?? 'usage error'), argv)}\n${HELP_HINT}`, EXIT_USAGE);
    })
    .parseAsync();
}

const argv = hideBin(process.argv);
main(argv).catch((err: unknown) => {
  if (err instanceof InvalidConfigError) exit(describeConfigError(err, argv), EXIT_USAGE);
  if (err instanceof BrokerError) exit(`${err.message} [${err.code}]`, USAGE_ERROR_CODES.has(err.code) ? EXIT_USAGE : EXIT_RUNTIME_ERROR);
  process.stderr.write(`eddy: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EXIT_RUNTIME_ERROR);
});
