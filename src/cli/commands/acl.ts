// `eddy acl list|add|remove`: the broker's ACLs, as kafka-acls.sh manages them (CreateAcls, DescribeAcls,
// DeleteAcls; the broker must run with --authorizer acl, else every command fails with SECURITY_DISABLED).
//
// - The resource: --topic, --group, --transactional-id (each repeatable) or --cluster; --resource-pattern-type
//   literal (default for add/remove) or prefixed; list and remove also take any or match (list's default is any).
// - The entry: --allow-principal / --deny-principal (Type:name, repeatable; add needs one), --operation
//   (repeatable; read, write, create, delete, alter, describe, cluster-action, describe-configs, alter-configs,
//   idempotent-write, all), --host (default "*"). add creates every combination, as kafka-acls.sh does.
// - remove deletes what matches: the resource, plus the principals, operations and host when given (any otherwise).
// - Deliberate difference from kafka-acls.sh: no interactive confirmation for remove, and without any resource
//   option remove refuses (so a bare `eddy acl remove` cannot wipe every ACL; use --all for that).
import type { Argv, CommandModule } from 'yargs';
import type { AclEntry, AclFilter, KafkaClient } from '../../client/client.js';
import { KafkaClientError } from '../../client/errors.js';
import {
  AclOperation,
  AclPermissionType,
  CLUSTER_NAME,
  PatternType,
  ResourceType,
  operationCode,
  operationName,
  patternTypeName,
  permissionTypeName,
  resourceTypeName,
} from '../../auth/acl.js';
import { clientOptions, printJson, printTable, toStringList, usageFail, withClient, UsageError, type ClientArgs } from './shared.js';

type Args = ClientArgs & Record<string, unknown>;

/** The resources named by --topic/--group/--transactional-id/--cluster; [] when none. */
function resources(args: Args): Array<{ resourceType: number; resourceName: string }> {
  const out: Array<{ resourceType: number; resourceName: string }> = [];
  for (const name of toStringList(args.topic)) out.push({ resourceType: ResourceType.TOPIC, resourceName: name });
  for (const name of toStringList(args.group)) out.push({ resourceType: ResourceType.GROUP, resourceName: name });
  for (const name of toStringList(args['transactional-id'])) out.push({ resourceType: ResourceType.TRANSACTIONAL_ID, resourceName: name });
  if (args.cluster === true) out.push({ resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_NAME });
  return out;
}

function patternType(args: Args, fallback: string, allowed: string[]): number {
  const raw = String(args['resource-pattern-type'] ?? fallback).toLowerCase();
  if (!allowed.includes(raw)) throw new UsageError(`--resource-pattern-type "${raw}": expected ${allowed.join(', ')}`);
  return { any: PatternType.ANY, match: PatternType.MATCH, literal: PatternType.LITERAL, prefixed: PatternType.PREFIXED }[raw]!;
}

function operations(args: Args): number[] {
  return toStringList(args.operation).map((raw) => {
    const code = operationCode(raw);
    if (code === undefined || code === AclOperation.UNKNOWN || code === AclOperation.ANY) throw new UsageError(`--operation "${raw}": not an ACL operation (read, write, describe, all, …)`);
    return code;
  });
}

function principals(args: Args): Array<{ principal: string; permissionType: number }> {
  const out: Array<{ principal: string; permissionType: number }> = [];
  for (const [flag, permissionType] of [['allow-principal', AclPermissionType.ALLOW], ['deny-principal', AclPermissionType.DENY]] as const) {
    for (const principal of toStringList(args[flag])) {
      if (principal.indexOf(':') <= 0) throw new UsageError(`--${flag} "${principal}": expected Type:name, e.g. User:alice`);
      out.push({ principal, permissionType });
    }
  }
  return out;
}

function printAcls(acls: AclEntry[], args: Args): void {
  const rows = acls.map((a) => ({
    resourceType: resourceTypeName(a.resourceType),
    patternType: patternTypeName(a.patternType),
    resourceName: a.resourceName,
    principal: a.principal,
    host: a.host,
    operation: operationName(a.operation),
    permissionType: permissionTypeName(a.permissionType),
  }));
  if (args.json) return printJson(rows);
  printTable(['RESOURCE-TYPE', 'PATTERN', 'RESOURCE', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'], rows.map((r) => [r.resourceType, r.patternType, r.resourceName, r.principal, r.host, r.operation, r.permissionType]));
}

/** The filters for list/remove: each resource (or any resource) × each principal and operation given (or any). */
function filters(args: Args, defaultPattern: string): AclFilter[] {
  const pattern = patternType(args, defaultPattern, ['any', 'match', 'literal', 'prefixed']);
  const res = resources(args);
  const who = principals(args);
  const ops = operations(args);
  const host = args.host === undefined ? null : String(args.host);
  const out: AclFilter[] = [];
  for (const r of res.length > 0 ? res : [{ resourceType: ResourceType.ANY, resourceName: null as string | null }]) {
    for (const p of who.length > 0 ? who : [{ principal: null as string | null, permissionType: AclPermissionType.ANY as number }]) {
      for (const operation of ops.length > 0 ? ops : [AclOperation.ANY as number]) {
        out.push({ resourceType: r.resourceType, resourceName: r.resourceName, patternType: pattern, principal: p.principal, host, operation, permissionType: p.permissionType });
      }
    }
  }
  return out;
}

async function listAcls(client: KafkaClient, args: Args): Promise<void> {
  const seen = new Set<string>();
  const all: AclEntry[] = [];
  for (const f of filters(args, 'any')) {
    for (const a of await client.describeAcls(f)) {
      const key = JSON.stringify(a);
      if (!seen.has(key)) all.push(a), seen.add(key);
    }
  }
  printAcls(all, args);
}

async function addAcls(client: KafkaClient, args: Args): Promise<void> {
  const res = resources(args);
  const who = principals(args);
  const ops = operations(args);
  if (res.length === 0) throw new UsageError('name a resource: --topic, --group, --transactional-id or --cluster');
  if (who.length === 0) throw new UsageError('name a principal: --allow-principal or --deny-principal (e.g. User:alice)');
  if (ops.length === 0) throw new UsageError('name an operation: --operation read|write|describe|…|all');
  const pattern = patternType(args, 'literal', ['literal', 'prefixed']);
  const host = args.host === undefined ? '*' : String(args.host);
  const acls: AclEntry[] = [];
  for (const r of res) for (const p of who) for (const operation of ops) acls.push({ ...r, patternType: pattern, principal: p.principal, host, operation, permissionType: p.permissionType });
  const results = await client.createAcls(acls);
  const failed = results.findIndex((r) => r.errorCode !== 0);
  if (failed >= 0) throw new KafkaClientError(results[failed]!.errorCode, results[failed]!.errorMessage);
  if (args.json) return printAcls(acls, args);
  process.stdout.write(`Added ${acls.length} ACL${acls.length === 1 ? '' : 's'}:\n`);
  printAcls(acls, args);
}

async function removeAcls(client: KafkaClient, args: Args): Promise<void> {
  if (resources(args).length === 0 && args.all !== true) throw new UsageError('name a resource (--topic, --group, --transactional-id, --cluster), or --all to remove every matching ACL');
  const results = await client.deleteAcls(filters(args, 'literal'));
  const failed = results.find((r) => r.errorCode !== 0);
  if (failed !== undefined) throw new KafkaClientError(failed.errorCode, failed.errorMessage);
  const seen = new Set<string>();
  const deleted = results.flatMap((r) => r.deleted).filter((a) => !seen.has(JSON.stringify(a)) && seen.add(JSON.stringify(a)));
  if (args.json) return printAcls(deleted, args);
  process.stdout.write(`Removed ${deleted.length} ACL${deleted.length === 1 ? '' : 's'}${deleted.length > 0 ? ':' : '.'}\n`);
  if (deleted.length > 0) printAcls(deleted, args);
}

function aclOptions<T>(y: Argv<T>): Argv<T> {
  return clientOptions(y)
    .option('topic', { type: 'string', array: true, requiresArg: true, describe: 'Topic name (repeatable)' })
    .option('group', { type: 'string', array: true, requiresArg: true, describe: 'Consumer group id (repeatable)' })
    .option('transactional-id', { type: 'string', array: true, requiresArg: true, describe: 'Transactional id (repeatable)' })
    .option('cluster', { type: 'boolean', describe: 'The cluster resource (kafka-cluster)' })
    .option('resource-pattern-type', { type: 'string', requiresArg: true, describe: 'literal or prefixed (list/remove also: any, match)' })
    .option('allow-principal', { type: 'string', array: true, requiresArg: true, describe: 'Principal to ALLOW, Type:name (repeatable)' })
    .option('deny-principal', { type: 'string', array: true, requiresArg: true, describe: 'Principal to DENY, Type:name (repeatable)' })
    .option('operation', { type: 'string', array: true, requiresArg: true, describe: 'read, write, create, delete, alter, describe, cluster-action, describe-configs, alter-configs, idempotent-write, all (repeatable)' })
    .option('host', { type: 'string', requiresArg: true, describe: 'Client IP address the ACL applies to (add: default "*")' }) as unknown as Argv<T>;
}

function run(handler: (client: KafkaClient, args: Args) => Promise<void>) {
  return (args: Record<string, unknown>) => withClient(args as unknown as ClientArgs, (client) => handler(client, args as Args));
}

export const aclCommand: CommandModule = {
  command: 'acl',
  describe: 'List, add and remove ACLs (brokers started with --authorizer acl)',
  builder: (y: Argv) =>
    y
      .command(
        'list',
        'ACLs, all or those of a resource / principal',
        (c) =>
          aclOptions(c)
            .example('$0 acl list', 'Every ACL')
            .example('$0 acl list --topic orders --resource-pattern-type match', 'The ACLs that apply to topic orders (literal, prefixed and "*")')
            .example('$0 acl list --allow-principal User:alice --json', "alice's ALLOW ACLs as JSON"),
        run(listAcls),
      )
      .command(
        'add',
        'Create ACLs (every principal × operation × resource given)',
        (c) =>
          aclOptions(c)
            .example('$0 acl add --allow-principal User:alice --operation read --topic orders --group billing', 'alice may consume orders in group billing')
            .example('$0 acl add --allow-principal User:alice --operation write --topic team-a. --resource-pattern-type prefixed', 'alice may produce to every topic starting with team-a.')
            .example('$0 acl add --deny-principal User:bob --operation all --topic secret', 'bob may do nothing on secret, whatever else allows it'),
        run(addAcls),
      )
      .command(
        'remove',
        'Delete the ACLs matching the options given',
        (c) =>
          aclOptions(c)
            .option('all', { type: 'boolean', describe: 'Allow removing without naming a resource' })
            .example('$0 acl remove --topic orders', 'Every LITERAL ACL of topic orders')
            .example('$0 acl remove --allow-principal User:alice --operation read --topic orders', 'Just that one ACL')
            .example('$0 acl remove --all --allow-principal User:alice --resource-pattern-type any', "Every ALLOW ACL of alice's"),
        run(removeAcls),
      )
      .fail(usageFail)
      .demandCommand(1, 'Name an acl command: list, add or remove.'),
  handler: () => undefined,
};
