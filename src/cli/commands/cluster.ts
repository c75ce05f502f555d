// `eddy cluster info`: the cluster id, controller and brokers from Metadata, and the API versions the bootstrap
// broker offers (ApiVersions) next to the version this client uses for each.
import type { Argv, CommandModule } from 'yargs';
import type { KafkaClient } from '../../client/client.js';
import { API_CODECS } from '../../protocol/generated/index.js';
import { clientOptions, printFields, printJson, printTable, usageFail, withClient, type ClientArgs } from './shared.js';

async function clusterInfo(client: KafkaClient, args: ClientArgs): Promise<void> {
  const md = await client.metadata([]);
  const conn = await client.any();
  const apis = [...conn.brokerVersions]
    .sort(([a], [b]) => a - b)
    .map(([apiKey, range]) => {
      const codec = API_CODECS.get(apiKey);
      let used: number | null = null;
      try {
        used = conn.versionFor(apiKey);
      } catch {
        used = null;
      }
      return { apiKey, name: codec?.name ?? `Unknown(${apiKey})`, minVersion: range.minVersion, maxVersion: range.maxVersion, usedVersion: used };
    });
  if (args.json) {
    printJson({ clusterId: md.clusterId, controllerId: md.controllerId, brokers: md.brokers, bootstrap: `${conn.host}:${conn.port}`, apis });
    return;
  }
  printFields([
    ['CLUSTER', md.clusterId],
    ['CONTROLLER', md.controllerId],
    ['BOOTSTRAP', `${conn.host}:${conn.port}`],
  ]);
  process.stdout.write('\n');
  printTable(['ID', 'HOST', 'PORT', 'RACK'], md.brokers.sort((a, b) => a.nodeId - b.nodeId).map((b) => [b.nodeId + (b.nodeId === md.controllerId ? '*' : ''), b.host, b.port, b.rack]));
  process.stdout.write('\n');
  printTable(['API', 'KEY', 'BROKER-VERSIONS', 'USED'], apis.map((a) => [a.name, a.apiKey, `${a.minVersion}-${a.maxVersion}`, a.usedVersion]));
}

export const clusterCommand: CommandModule = {
  command: 'cluster',
  describe: 'Show the cluster: id, controller, brokers and API versions',
  builder: (y: Argv) =>
    y
      .command(
        'info',
        'Cluster id, controller, brokers and the API versions offered',
        (c) => clientOptions(c).example('$0 cluster info', 'Against 127.0.0.1:9092').example('$0 cluster info -b kafka:9092 --json', 'Another broker, as JSON'),
        (args) => withClient(args as unknown as ClientArgs, (client) => clusterInfo(client, args as unknown as ClientArgs)),
      )
      .fail(usageFail)
      .demandCommand(1, 'Name a cluster command: info.'),
  handler: () => undefined,
};
