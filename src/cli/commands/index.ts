// The client commands of `eddy` (each a yargs CommandModule over src/client; `fault` over the HTTP admin
// listener), registered by main.ts in one line.
import type { CommandModule } from 'yargs';
import { clusterCommand } from './cluster.js';
import { consumeCommand } from './consume.js';
import { devCommand } from './dev-cluster.js';
import { faultCommand } from './fault.js';
import { groupCommand } from './group.js';
import { logCommand } from './log-dump.js';
import { produceCommand } from './produce.js';
import { topicCommand } from './topic.js';
import { aclCommand } from './acl.js';
import { userCommand } from './user.js';

export const clientCommands: CommandModule[] = [topicCommand, produceCommand, consumeCommand, groupCommand, clusterCommand, logCommand, faultCommand, aclCommand, userCommand, devCommand];

/** The first word of each client command, for main.ts's "unknown command" check. */
export const CLIENT_COMMAND_NAMES: readonly string[] = clientCommands.map((c) => String(c.command).split(' ')[0]!);
