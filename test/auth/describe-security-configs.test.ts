// DescribeConfigs of the broker lists the security configs it was started with (listeners, SASL, SSL), with Kafka's names and
// sources (STATIC_BROKER_CONFIG), and secrets as sensitive with a null value.
import { afterEach, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { RawClient, makeCertificates } from './support.js';

let tb: TestBroker | undefined;
afterEach(async () => {
  await tb?.stop();
});

it('DescribeConfigs of the broker lists the started-with security options as STATIC_BROKER_CONFIG; keys and custom authorizer configs are sensitive', async () => {
  const certs = makeCertificates();
  try {
    tb = await startTestBroker({ listeners: 'SASL_SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0', sslCertFile: certs.serverCert, sslKeyFile: certs.serverKey, sslCaFile: certs.caCert, saslEnabledMechanisms: 'SCRAM-SHA-512', authorizer: 'acl', superUsers: 'User:ANONYMOUS' });
    const c = await RawClient.connect(tb.broker.listeners[1]!.port);
    const res = await c.send(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: String(tb.broker.config.nodeId), configurationKeys: null }], includeSynonyms: true, includeDocumentation: false });
    c.close();
    const byName = new Map<string, any>(res.results[0].configs.map((x: any) => [x.name, x]));
    expect(byName.get('listeners')).toMatchObject({ value: 'SASL_SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0', configSource: 4 });
    expect(byName.get('sasl.enabled.mechanisms')).toMatchObject({ value: 'SCRAM-SHA-512', configSource: 4 });
    expect(byName.get('ssl.keystore.key')).toMatchObject({ value: null, isSensitive: true, configSource: 4 });
    expect(byName.get('ssl.truststore.location')).toMatchObject({ value: certs.caCert, configSource: 4 });
    expect(byName.get('authorizer.class.name')).toMatchObject({ value: 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', configSource: 4 });
    expect(byName.get('super.users')).toMatchObject({ value: null, isSensitive: true, configSource: 4, configType: 0 });
    expect(byName.get('ssl.client.auth')).toMatchObject({ value: 'none', configSource: 5 });
  } finally {
    rmSync(certs.dir, { recursive: true, force: true });
  }
});
