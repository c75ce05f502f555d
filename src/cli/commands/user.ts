// `eddy user list|add|remove`: SCRAM users (DescribeUserScramCredentials / AlterUserScramCredentials, KIP-554), as
// `kafka-configs.sh --entity-type users --alter --add-config 'SCRAM-SHA-256=[password=…]'` manages them. The salted
// password is computed here (random salt, PBKDF2), so the password never reaches the broker; PLAIN logins check
// passwords against these SCRAM credentials too.
//
// - add <user> --password P [--mechanism SCRAM-SHA-256 --mechanism SCRAM-SHA-512] [--iterations 4096]: creates or
//   replaces the credential of each mechanism (default both). One request per mechanism, since a request may name
//   a user once.
// - remove <user> [--mechanism …]: deletes the credentials of those mechanisms (default: every one the user has).
// - list: every user with its mechanisms and iterations.
import type { Argv, CommandModule } from 'yargs';
import { SCRAM_MECHANISM_TYPES, type KafkaClient } from '../../client/client.js';
import { KafkaClientError } from '../../client/errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { clientOptions, parseIntFlag, printJson, printTable, toStringList, usageFail, withClient, UsageError, type ClientArgs } from './shared.js';

type Args = ClientArgs & Record<string, unknown>;

const MECHANISM_NAMES = Object.keys(SCRAM_MECHANISM_TYPES);
const nameOfType = (type: number) => MECHANISM_NAMES.find((n) => SCRAM_MECHANISM_TYPES[n]!.type === type) ?? `mechanism ${type}`;

function mechanisms(args: Args): string[] {
  const given = toStringList(args.mechanism).map((m) => m.toUpperCase());
  for (const m of given) if (!MECHANISM_NAMES.includes(m)) throw new UsageError(`--mechanism "${m}": expected ${MECHANISM_NAMES.join(' or ')}`);
  return given;
}

function check(results: Array<{ user: string; errorCode: number; errorMessage: string | null }>): void {
  const failed = results.find((r) => r.errorCode !== ErrorCode.NONE);
  if (failed !== undefined) throw new KafkaClientError(failed.errorCode, failed.errorMessage);
}

async function listUsers(client: KafkaClient, args: Args): Promise<void> {
  const users = await client.describeUserScramCredentials(null);
  const rows = users.flatMap((u) => u.credentials.map((c) => ({ user: u.user, mechanism: nameOfType(c.mechanism), iterations: c.iterations })));
  if (args.json) return printJson(rows);
  printTable(['USER', 'MECHANISM', 'ITERATIONS'], rows.map((r) => [r.user, r.mechanism, r.iterations]));
}

async function addUser(client: KafkaClient, args: Args): Promise<void> {
  const user = String(args.user);
  if (typeof args.password !== 'string' || args.password === '') throw new UsageError('--password needs a non-empty value');
  const iterations = args.iterations === undefined ? 4096 : parseIntFlag(args.iterations, 'iterations', 4096);
  const chosen = mechanisms(args);
  const list = chosen.length > 0 ? chosen : MECHANISM_NAMES;
  for (const mechanism of list) check(await client.alterUserScramCredentials({ upsertions: [{ user, mechanism, password: args.password, iterations }] }));
  if (args.json) return printJson({ user, mechanisms: list, iterations });
  process.stdout.write(`Created or updated user ${user} (${list.join(', ')}).\n`);
}

async function removeUser(client: KafkaClient, args: Args): Promise<void> {
  const user = String(args.user);
  let list = mechanisms(args);
  if (list.length === 0) {
    const [described] = await client.describeUserScramCredentials([user]);
    if (described === undefined || described.errorCode !== ErrorCode.NONE) throw new KafkaClientError(described?.errorCode ?? ErrorCode.RESOURCE_NOT_FOUND, described?.errorMessage ?? null);
    list = described.credentials.map((c) => nameOfType(c.mechanism));
  }
  for (const mechanism of list) check(await client.alterUserScramCredentials({ deletions: [{ user, mechanism }] }));
  if (args.json) return printJson({ user, removed: list });
  process.stdout.write(`Removed ${list.join(', ')} credentials of user ${user}.\n`);
}

function run(handler: (client: KafkaClient, args: Args) => Promise<void>) {
  return (args: Record<string, unknown>) => withClient(args as unknown as ClientArgs, (client) => handler(client, args as Args));
}

export const userCommand: CommandModule = {
  command: 'user',
  describe: 'List, add and remove SCRAM users (SASL/SCRAM and PLAIN logins)',
  builder: (y: Argv) =>
    y
      .command('list', 'Users with their SCRAM mechanisms', (c) => clientOptions(c).example('$0 user list', 'Every user'), run(listUsers))
      .command(
        'add <user>',
        'Create a user or change its password',
        (c) =>
          clientOptions(c)
            .positional('user', { type: 'string', describe: 'User name' })
            .option('password', { type: 'string', demandOption: true, requiresArg: true, describe: 'The password' })
            .option('mechanism', { type: 'string', array: true, requiresArg: true, describe: 'SCRAM-SHA-256 and/or SCRAM-SHA-512 (default both)' })
            .option('iterations', { type: 'string', requiresArg: true, describe: 'PBKDF2 iterations (4096-16384, default 4096)' })
            .example('$0 user add alice --password alice-secret', 'alice can log in with SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN')
            .example('$0 user add bob --password s3cret --mechanism SCRAM-SHA-512', 'Only a SCRAM-SHA-512 credential'),
        run(addUser),
      )
      .command(
        'remove <user>',
        'Delete a user\'s credentials',
        (c) =>
          clientOptions(c)
            .positional('user', { type: 'string', describe: 'User name' })
            .option('mechanism', { type: 'string', array: true, requiresArg: true, describe: 'Only these mechanisms (default every one the user has)' })
            .example('$0 user remove alice', 'alice can no longer log in'),
        run(removeUser),
      )
      .fail(usageFail)
      .demandCommand(1, 'Name a user command: list, add or remove.'),
  handler: () => undefined,
};
