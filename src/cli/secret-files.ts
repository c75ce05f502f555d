// Passwords read from files, so they are not in the broker's command line: /proc/PID/cmdline is readable by every
// user of the machine, and Kafka keeps them out of it too (a JAAS file, sasl.jaas.config in a properties file).
//   --sasl-users-file F               one name:password per line, as --sasl-user takes them (blank lines and lines
//                                      starting with # are skipped); added to any --sasl-user
//   --inter-broker-sasl-user-file F   the first non-blank line is --inter-broker-sasl-user's name:password
// Read once, at start. A file that cannot be read, or a line that is not name:password, is a usage error naming
// the flag, the file and the line, never the password.
import { readFile } from 'node:fs/promises';
import { BrokerError } from '../errors.js';
import type { BrokerOptions } from '../metadata/broker-config.js';

export interface SecretFiles {
  saslUsersFile?: string;
  interBrokerSaslUserFile?: string;
}

async function readLines(flag: string, file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new BrokerError('USAGE', `--${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return text.split(/\r?\n/);
}

/** `name:password` with a non-empty name and password (the password may hold `:`), else a usage error. */
function credential(flag: string, file: string, line: string, lineNumber: number): string {
  const colon = line.indexOf(':');
  if (colon <= 0 || colon === line.length - 1) throw new BrokerError('USAGE', `--${flag} ${file} line ${lineNumber}: not name:password (a non-empty name, a colon, a non-empty password)`);
  return line;
}

/** `options` with the users and the inter-broker user of the files added. */
export async function withSecretFiles(options: BrokerOptions, files: SecretFiles): Promise<BrokerOptions> {
  const out: BrokerOptions = { ...options };
  if (files.saslUsersFile !== undefined) {
    const flag = 'sasl-users-file';
    const users: string[] = [];
    (await readLines(flag, files.saslUsersFile)).forEach((raw, i) => {
      const line = raw.trim();
      if (line !== '' && !line.startsWith('#')) users.push(credential(flag, files.saslUsersFile!, line, i + 1));
    });
    const given = options.saslUser === undefined ? [] : Array.isArray(options.saslUser) ? options.saslUser : [options.saslUser];
    out.saslUser = [...given, ...users];
  }
  if (files.interBrokerSaslUserFile !== undefined) {
    const flag = 'inter-broker-sasl-user-file';
    if (options.interBrokerSaslUser !== undefined) throw new BrokerError('USAGE', `give --inter-broker-sasl-user or --${flag}, not both`);
    const lines = await readLines(flag, files.interBrokerSaslUserFile);
    const index = lines.findIndex((l) => l.trim() !== '');
    if (index < 0) throw new BrokerError('USAGE', `--${flag} ${files.interBrokerSaslUserFile}: empty (it holds one name:password line)`);
    out.interBrokerSaslUser = credential(flag, files.interBrokerSaslUserFile, lines[index]!.trim(), index + 1);
  }
  return out;
}
