// Authorized-operation bit fields as Kafka reports them without an authorizer: every operation the resource type
// supports (AuthHelper.authorizedOperations → AclEntry.supportedOperations, packed by Utils.to32BitField).
// AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
// DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.

const bits = (...ops: number[]): number => ops.reduce((acc, op) => acc | (1 << op), 0);

/** The schemas' default: operations were not requested. */
export const NO_AUTHORIZED_OPERATIONS = -2147483648;
/** TOPIC: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS = 3576. */
export const ALL_TOPIC_OPERATIONS = bits(3, 4, 5, 6, 7, 8, 10, 11);
/** CLUSTER: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE = 8096. */
export const ALL_CLUSTER_OPERATIONS = bits(5, 7, 8, 9, 10, 11, 12);
