#!/usr/bin/env node
// The `eddy` command: a thin yargs layer over createBroker().
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BrokerError } from '../errors.js';
import { runStart, startOptions } from './start.js';

function fail(message: string): never {
  process.stderr.write(`eddy: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('eddy')
    .usage('$0 <command> [options]\n\nEddy: a Kafka-compatible message broker for Node.js.')
    .command('start', 'Run the broker in the foreground', (y) => startOptions(y), async (args) => {
      await runStart(args);
    })
    .demandCommand(1, 'Name a command, e.g. `eddy start`.')
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .fail((message, err) => {
      if (err) throw err;
      fail(`${message}\nRun \`eddy --help\` for usage.`);
    })
    .parseAsync();
}

main().catch((err: unknown) => {
  if (err instanceof BrokerError) fail(`${err.message} [${err.code}]`);
  process.stderr.write(`eddy: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
