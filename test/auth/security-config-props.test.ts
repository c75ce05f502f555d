// The security configs a broker resource describes (src/metadata/security-config-props.ts and the config catalog):
// Kafka's names, STATIC_BROKER_CONFIG for what the broker was started with, PASSWORD configs never showing a value.
import { afterEach, describe, expect, it } from 'vitest';
import { nonDefaultConfig, resolveBrokerConfig } from '../../src/metadata/broker-config.js';
import { securityConfigProps } from '../../src/metadata/security-config-props.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { RawClient } from './support.js';

describe('securityConfigProps', () => {
  it('a broker without security options gives nothing static; Eddy\'s sasl.enabled.mechanisms and inter-broker mechanism defaults replace GSSAPI', () => {
    const { staticProps, defaultProps } = securityConfigProps(resolveBrokerConfig({}));
    expect(staticProps).toEqual({});
    expect(defaultProps).toEqual({ 'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512', 'sasl.mechanism.inter.broker.protocol': 'PLAIN' });
    expect(securityConfigProps(resolveBrokerConfig({ saslEnabledMechanisms: 'scram-sha-512' })).defaultProps['sasl.mechanism.inter.broker.protocol']).toBe('SCRAM-SHA-512');
  });

  it('the options a secured broker starts with appear under Kafka\'s names', () => {
    const config = resolveBrokerConfig({
      listeners: 'SASL_SSL://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092',
      advertisedListeners: 'SASL_SSL://kafka.example:9093',
      sslCertFile: '/etc/eddy/server.crt',
      sslKeyFile: '/etc/eddy/server.key',
      sslCaFile: '/etc/eddy/ca.crt',
      sslClientAuth: 'required',
      saslEnabledMechanisms: 'SCRAM-SHA-512',
      connectionsMaxReauthMs: 3_600_000,
      authorizer: 'acl',
      superUsers: 'User:admin;User:CN=ops,O=Eddy',
      allowEveryoneIfNoAclFound: true,
    });
    expect(securityConfigProps(config).staticProps).toEqual({
      listeners: 'SASL_SSL://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092',
      'advertised.listeners': 'SASL_SSL://kafka.example:9093',
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'connections.max.reauth.ms': '3600000',
      'ssl.client.auth': 'required',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.certificate.chain': '/etc/eddy/server.crt',
      'ssl.keystore.key': '/etc/eddy/server.key',
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': '/etc/eddy/ca.crt',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:admin;User:CN=ops,O=Eddy',
      'allow.everyone.if.no.acl.found': 'true',
    });
  });

  it('the inter-broker settings appear under Kafka\'s names; the inter-broker password never does', () => {
    const config = resolveBrokerConfig({
      listeners: 'SASL_SSL://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092',
      sslCertFile: '/etc/eddy/server.crt',
      sslKeyFile: '/etc/eddy/server.key',
      interBrokerListenerName: 'sasl_ssl',
      saslMechanismInterBrokerProtocol: 'scram-sha-256',
      interBrokerSaslUser: 'broker:broker-secret',
      sslEndpointIdentificationAlgorithm: '',
    });
    const props = securityConfigProps(config).staticProps;
    expect(props).toMatchObject({
      'inter.broker.listener.name': 'SASL_SSL',
      'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-256',
      'ssl.endpoint.identification.algorithm': '',
    });
    expect(props['security.inter.broker.protocol']).toBeUndefined();
    expect(JSON.stringify(props)).not.toContain('broker-secret');
    expect(JSON.stringify(nonDefaultConfig(config))).not.toContain('broker-secret');
    expect(nonDefaultConfig(config).interBrokerSaslUser).toBe('broker');
  });
});

describe('DescribeConfigs of the broker: security configs', () => {
  let tb: TestBroker | undefined;
  let client: RawClient | undefined;
  afterEach(async () => {
    client?.close();
    await tb?.stop();
  });

  it('lists Kafka\'s SSL and SASL configs; PASSWORD ones are sensitive with value null, as Kafka describes them', async () => {
    tb = await startTestBroker({});
    client = await RawClient.connect(tb.port);
    const res = await client.send(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: String(tb.broker.config.nodeId), configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
    const byName = new Map<string, any>(res.results[0].configs.map((c: any) => [c.name, c]));
    for (const name of ['ssl.keystore.password', 'ssl.key.password', 'ssl.keystore.key', 'ssl.keystore.certificate.chain', 'ssl.truststore.password', 'ssl.truststore.certificates']) {
      expect(byName.get(name), name).toMatchObject({ value: null, isSensitive: true, configType: 9 });
    }
    expect(byName.get('ssl.client.auth')).toMatchObject({ value: 'none', isSensitive: false, readOnly: true, configSource: 5, configType: 2 });
    expect(byName.get('connections.max.reauth.ms')).toMatchObject({ value: '0', configType: 5 });
    expect(byName.get('listener.security.protocol.map')).toMatchObject({ isSensitive: false });
    expect(byName.get('authorizer.class.name')).toMatchObject({ value: '', configSource: 5 });
    // The authorizer's own configs are not KafkaConfig definitions: absent unless given.
    expect(byName.has('super.users')).toBe(false);
    expect(byName.has('allow.everyone.if.no.acl.found')).toBe(false);
  });
});
