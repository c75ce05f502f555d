// Small helpers shared by the group API handlers.
import type { RequestContext } from './types.js';

/**
 * The client host Kafka reports for a member (DescribeGroups `client_host`): "/" + the peer address. The
 * connection's logger carries the peer as `remote` ("host:port"); the port is dropped, as Kafka does.
 */
export function clientHost(ctx: RequestContext): string {
  const remote = (ctx.log.bindings() as { remote?: unknown }).remote;
  if (typeof remote !== 'string') return '/unknown';
  const i = remote.lastIndexOf(':');
  const host = i > 0 ? remote.slice(0, i) : remote;
  return `/${host.startsWith('::ffff:') ? host.slice(7) : host}`;
}

/** Kafka's authorized operations for a group without an authorizer: READ (3), DELETE (6), DESCRIBE (8). */
export const ALL_GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
export const NO_AUTHORIZED_OPERATIONS = -2147483648;
