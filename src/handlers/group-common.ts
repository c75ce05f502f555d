// Small helpers shared by the group API handlers.
import type { RequestContext } from './types.js';

/** The client host Kafka reports for a member (DescribeGroups `client_host`): "/" + the peer address. */
export function clientHost(ctx: RequestContext): string {
  const host = ctx.clientAddress;
  return `/${host.startsWith('::ffff:') ? host.slice(7) : host}`;
}

/** Kafka's authorized operations for a group without an authorizer: READ (3), DELETE (6), DESCRIBE (8). */
export const ALL_GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);
export const NO_AUTHORIZED_OPERATIONS = -2147483648;
