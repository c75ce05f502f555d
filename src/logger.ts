// The root pino logger. JSON lines on stdout by default (what log shippers expect); each connection gets a
// child logger with connId/remote/clientId (STYLE.md §11). Payloads are only built when the level is enabled.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({ level, base: { name: 'eddy' }, timestamp: pino.stdTimeFunctions.isoTime });
}
