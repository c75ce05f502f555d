// The root pino logger. JSON lines on stdout by default (what log shippers expect); each connection gets a
// child logger with connId/remote/clientId (STYLE.md §11). Payloads are only built when the level is enabled.
//
// `--log-format pretty` (terminals) renders the same records through pino-pretty, loaded only then (a dynamic
// import, so JSON logging and the library pay nothing for it), on one line each, with the startup line spelled
// out for a person: version, listener, data dir and the settings that differ from the defaults.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

const BASE_OPTIONS = { base: { name: 'eddy' }, timestamp: pino.stdTimeFunctions.isoTime };

export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({ level, ...BASE_OPTIONS });
}

/** Fields of the startup ("listening") record that its pretty message already says. */
const STARTUP_FIELDS = ['version', 'listeners', 'host', 'port', 'dataDir', 'temporaryDataDir', 'clusterId', 'nodeId', 'topics', 'config', 'startupMs', 'httpPort'];

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The startup record as a sentence. */
export function describeStartup(log: Record<string, unknown>): string {
  const listeners = Array.isArray(log.listeners) ? log.listeners.join(', ') : `${String(log.host)}:${String(log.port)}`;
  const config = (log.config ?? {}) as Record<string, unknown>;
  const settings = Object.entries(config).map(([k, v]) => `--${kebab(k)}=${String(v)}`);
  const temporary = log.temporaryDataDir === true ? ' (temporary, removed on exit)' : '';
  const ms = typeof log.startupMs === 'number' ? `, started in ${Math.round(log.startupMs)} ms` : '';
  const http = typeof log.httpPort === 'number' ? `; admin http://${String(log.host)}:${log.httpPort}` : '';
  return (
    `Eddy ${String(log.version)} listening on ${listeners}; data dir ${String(log.dataDir)}${temporary}; ` +
    `cluster ${String(log.clusterId)}, node ${String(log.nodeId)}, ${String(log.topics)} topic(s)${ms}; ` +
    `non-default config: ${settings.length > 0 ? settings.join(' ') : 'none'}${http}`
  );
}

/** A logger in the given format; `pretty` loads pino-pretty (colours when stdout is a terminal). */
export async function createFormattedLogger(level: LevelWithSilent, format: LogFormat): Promise<Logger> {
  if (format === 'json') return createLogger(level);
  const { prettyFactory } = await import('pino-pretty');
  const prettify = prettyFactory({
    colorize: process.stdout.isTTY === true,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
  });
  // Synchronous, like pino's default destination: nothing logged before process.exit() is lost.
  const out = pino.destination({ dest: 1, sync: true });
  const stream = {
    write(line: string): void {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (record.msg === 'listening') {
        record.msg = describeStartup(record);
        for (const key of STARTUP_FIELDS) delete record[key];
      }
      out.write(prettify(record));
    },
  };
  return pino({ level, ...BASE_OPTIONS }, stream);
}
