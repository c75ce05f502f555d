// The cluster id and node id, persisted in `<dataDir>/meta.properties` like a KRaft Kafka log dir:
//   version=1
//   cluster.id=<22-char base64url UUID>
//   node.id=<int>
// A new data dir gets a fresh random cluster id. Starting a data dir with a different node id than the one it was
// formatted with is refused (BrokerError NODE_ID_MISMATCH), as Kafka refuses it.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { BrokerError } from '../errors.js';
import { readTextFile, writeFileAtomically } from './metadata-fs.js';

export interface ClusterIdentity {
  clusterId: string;
  nodeId: number;
}

function parseProperties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq > 0) props.set(trimmed.slice(0, eq).trim(), trimmed.slice(eq + 1).trim());
  }
  return props;
}

export async function loadOrCreateClusterIdentity(dataDir: string, nodeId: number): Promise<ClusterIdentity> {
  const file = path.join(dataDir, 'meta.properties');
  const text = await readTextFile(file);
  if (text !== undefined) {
    const props = parseProperties(text);
    const clusterId = props.get('cluster.id');
    const storedNodeId = Number(props.get('node.id'));
    if (clusterId === undefined || !Number.isInteger(storedNodeId)) {
      throw new BrokerError('METADATA_CORRUPT', `${file} lacks cluster.id or node.id`);
    }
    if (storedNodeId !== nodeId) {
      throw new BrokerError(
        'NODE_ID_MISMATCH',
        `Stored node id ${storedNodeId} in ${file} doesn't match the configured node id ${nodeId}`,
      );
    }
    return { clusterId, nodeId };
  }
  const clusterId = randomBytes(16).toString('base64url');
  await writeFileAtomically(file, `#\n#${new Date().toISOString()}\nversion=1\ncluster.id=${clusterId}\nnode.id=${nodeId}\n`);
  return { clusterId, nodeId };
}
