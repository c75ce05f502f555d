// The security options of a broker under Kafka's config names, for DescribeConfigs of a broker resource
// (dynamic-broker-config.ts adds them to its STATIC_BROKER_CONFIG and DEFAULT_CONFIG levels):
//
//   Kafka config                      from the option                      static (given) when
//   listeners                         listeners                            given
//   advertised.listeners              advertisedListeners                  given
//   listener.security.protocol.map    listenerSecurityProtocolMap          not Eddy's default
//   sasl.enabled.mechanisms           saslEnabledMechanisms                not Eddy's default (PLAIN,SCRAM-SHA-256,
//                                                                            SCRAM-SHA-512, also the DEFAULT_CONFIG value)
//   connections.max.reauth.ms         connectionsMaxReauthMs               not 0
//   sasl.server.max.receive.size      saslServerMaxReceiveSize             not 524288
//   ssl.client.auth                   sslClientAuth                        not none
//   ssl.keystore.type                 PEM                                  sslCertFile given
//   ssl.keystore.certificate.chain    sslCertFile (PASSWORD: value null)   given
//   ssl.keystore.key                  sslKeyFile (PASSWORD: value null)    given
//   ssl.truststore.type               PEM                                  sslCaFile given
//   ssl.truststore.location           sslCaFile                            given
//   authorizer.class.name             authorizer acl → org.apache.kafka.   acl
//                                       metadata.authorizer.StandardAuthorizer
//   inter.broker.listener.name        interBrokerListenerName              given
//   security.inter.broker.protocol    securityInterBrokerProtocol          given
//   sasl.mechanism.inter.broker.      saslMechanismInterBrokerProtocol     given
//     protocol
//   ssl.endpoint.identification.      sslEndpointIdentificationAlgorithm   not https
//     algorithm
//   super.users                       superUsers                           not empty
//   allow.everyone.if.no.acl.found    allowEveryoneIfNoAclFound            true (the default is false, as Kafka's)
//
// super.users and allow.everyone.if.no.acl.found are not KafkaConfig definitions but the authorizer's own configs
// (StandardAuthorizer.SUPER_USERS_CONFIG, ALLOW_EVERYONE_IF_NO_ACL_IS_FOUND_CONFIG), so Kafka describes them as
// configs of unknown type: listed only when given, value null, isSensitive true (ConfigHelper.createBrokerConfigEntry:
// KafkaConfig.maybeSensitive(None)). They are deliberately not in config-catalog.ts, and described the same way.
import { DEFAULT_BROKER_CONFIG, enabledSaslMechanisms, type BrokerConfig } from './broker-config.js';

const STANDARD_AUTHORIZER = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';

export interface SecurityConfigProps {
  /** STATIC_BROKER_CONFIG entries. */
  staticProps: Record<string, string>;
  /** DEFAULT_CONFIG entries where Eddy's default differs from Kafka's. */
  defaultProps: Record<string, string>;
}

export function securityConfigProps(config: BrokerConfig): SecurityConfigProps {
  const d = DEFAULT_BROKER_CONFIG;
  const staticProps: Record<string, string> = {};
  if (config.listeners !== undefined) staticProps['listeners'] = config.listeners;
  if (config.advertisedListeners !== undefined) staticProps['advertised.listeners'] = config.advertisedListeners;
  if (config.listenerSecurityProtocolMap !== d.listenerSecurityProtocolMap) staticProps['listener.security.protocol.map'] = config.listenerSecurityProtocolMap;
  if (config.saslEnabledMechanisms !== d.saslEnabledMechanisms) staticProps['sasl.enabled.mechanisms'] = config.saslEnabledMechanisms;
  if (config.connectionsMaxReauthMs !== d.connectionsMaxReauthMs) staticProps['connections.max.reauth.ms'] = String(config.connectionsMaxReauthMs);
  if (config.saslServerMaxReceiveSize !== d.saslServerMaxReceiveSize) staticProps['sasl.server.max.receive.size'] = String(config.saslServerMaxReceiveSize);
  if (config.sslClientAuth !== d.sslClientAuth) staticProps['ssl.client.auth'] = config.sslClientAuth;
  if (config.sslCertFile !== undefined) {
    staticProps['ssl.keystore.type'] = 'PEM';
    staticProps['ssl.keystore.certificate.chain'] = config.sslCertFile;
  }
  if (config.sslKeyFile !== undefined) staticProps['ssl.keystore.key'] = config.sslKeyFile;
  if (config.sslCaFile !== undefined) {
    staticProps['ssl.truststore.type'] = 'PEM';
    staticProps['ssl.truststore.location'] = config.sslCaFile;
  }
  if (config.interBrokerListenerName !== undefined) staticProps['inter.broker.listener.name'] = config.interBrokerListenerName.toUpperCase();
  if (config.securityInterBrokerProtocol !== undefined) staticProps['security.inter.broker.protocol'] = config.securityInterBrokerProtocol;
  if (config.saslMechanismInterBrokerProtocol !== undefined) staticProps['sasl.mechanism.inter.broker.protocol'] = config.saslMechanismInterBrokerProtocol.toUpperCase();
  if (config.sslEndpointIdentificationAlgorithm !== d.sslEndpointIdentificationAlgorithm) staticProps['ssl.endpoint.identification.algorithm'] = config.sslEndpointIdentificationAlgorithm;
  if (config.authorizer === 'acl') staticProps['authorizer.class.name'] = STANDARD_AUTHORIZER;
  if (config.superUsers !== '') staticProps['super.users'] = config.superUsers;
  if (config.allowEveryoneIfNoAclFound !== d.allowEveryoneIfNoAclFound) staticProps['allow.everyone.if.no.acl.found'] = String(config.allowEveryoneIfNoAclFound);
  // Eddy's sasl.mechanism.inter.broker.protocol default is the first enabled mechanism (Kafka's GSSAPI is not
  // implemented): described as the value in use.
  const firstMechanism = enabledSaslMechanisms(config)[0];
  const defaultProps: Record<string, string> = { 'sasl.enabled.mechanisms': d.saslEnabledMechanisms };
  if (firstMechanism !== undefined) defaultProps['sasl.mechanism.inter.broker.protocol'] = firstMechanism;
  return { staticProps, defaultProps };
}
