// The security flags every client command takes, and `--command-config FILE` with Kafka client properties as
// Kafka's CLI tools read them (kafka-topics.sh --command-config client.properties). Flags win over the file.
//
//   flag                               property in --command-config                        meaning
//   --security-protocol P              security.protocol                                   PLAINTEXT (default), SSL,
//                                                                                          SASL_PLAINTEXT, SASL_SSL
//   --sasl-mechanism M                 sasl.mechanism                                      PLAIN, SCRAM-SHA-256, -512
//   --sasl-username U                  sasl.jaas.config …LoginModule required              the SASL user
//                                        username="U" password="P";  (or sasl.username)
//   --sasl-password P |                sasl.jaas.config (or sasl.password)                 its password (the file's
//     --sasl-password-file F                                                                 first line)
//   --ssl-ca-file F                    ssl.truststore.location (PEM), ssl.truststore.       CAs that sign the
//                                        certificates (PEM text), ssl.ca.location           broker's certificate
//   --ssl-cert-file F --ssl-key-file F ssl.keystore.location (PEM: key + chain; PKCS12 with  client certificate (mTLS)
//                                        ssl.keystore.password), ssl.keystore.certificate.
//                                        chain + ssl.keystore.key (PEM text), ssl.certificate.
//                                        location + ssl.key.location; ssl.key.password
//   -                                  ssl.endpoint.identification.algorithm               "" = do not check the
//                                                                                          broker's host name
//
// The librdkafka spellings (sasl.username, ssl.ca.location …) are accepted too, so one file can serve kcat and
// eddy. Other properties (client.id, request.timeout.ms …) are ignored, as Kafka's tools only warn about unknown
// ones. JKS stores cannot be read: the error says to convert them to PEM. Every mistake is a UsageError (exit 2)
// naming the flag or property: SASL settings without a SASL protocol, a SASL protocol without all three of
// mechanism, user and password, TLS files without a TLS protocol, a certificate without its key, a file that
// cannot be read.
import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { CLIENT_SASL_MECHANISMS, type SaslMechanismName } from '../../client/sasl.js';
import { CLIENT_SECURITY_PROTOCOLS, securityUsesSasl, securityUsesTls, type ClientSecurity, type ClientSecurityProtocol, type ClientTlsOptions } from '../../client/security.js';
import { UsageError } from './usage-error.js';

export interface SecurityArgs {
  securityProtocol?: string;
  saslMechanism?: string;
  saslUsername?: string;
  saslPassword?: string;
  saslPasswordFile?: string;
  sslCaFile?: string;
  sslCertFile?: string;
  sslKeyFile?: string;
  commandConfig?: string;
}

const SECURITY_FLAGS = ['security-protocol', 'sasl-mechanism', 'sasl-username', 'sasl-password', 'sasl-password-file', 'ssl-ca-file', 'ssl-cert-file', 'ssl-key-file', 'command-config'];

/** Adds the security flags (table above) to a command, under their own heading in --help. */
export function securityOptions<T>(y: Argv<T>): Argv<T & SecurityArgs> {
  return y
    .option('security-protocol', { type: 'string', requiresArg: true, describe: `How to reach the broker: ${CLIENT_SECURITY_PROTOCOLS.join(', ')} (default PLAINTEXT)` })
    .option('sasl-mechanism', { type: 'string', requiresArg: true, describe: `SASL mechanism: ${CLIENT_SASL_MECHANISMS.join(', ')}` })
    .option('sasl-username', { type: 'string', requiresArg: true, describe: 'SASL user name' })
    .option('sasl-password', { type: 'string', requiresArg: true, describe: 'SASL password' })
    .option('sasl-password-file', { type: 'string', requiresArg: true, describe: 'A file whose first line is the SASL password' })
    .option('ssl-ca-file', { type: 'string', requiresArg: true, describe: 'PEM CA certificate(s) the broker\'s certificate must chain to (default: Node\'s public roots)' })
    .option('ssl-cert-file', { type: 'string', requiresArg: true, describe: 'PEM client certificate, for brokers that want one (mTLS)' })
    .option('ssl-key-file', { type: 'string', requiresArg: true, describe: 'PEM private key of --ssl-cert-file' })
    .option('command-config', { type: 'string', requiresArg: true, describe: 'Kafka client properties file (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location …)' })
    .group(SECURITY_FLAGS, 'Security:') as Argv<T & SecurityArgs>;
}

// ---- Java properties -----------------------------------------------------------------------------------------

/**
 * java.util.Properties.load, the parts client.properties files use: `key=value`, `key: value` or `key value`;
 * `#` and `!` comment lines; a trailing backslash continues the line; backslash escapes (\t \n \\ \uXXXX …).
 */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    const sep = /^((?:\\.|[^\\=: \t\f])*)[ \t\f]*[=: \t\f]?[ \t\f]*/.exec(line)!;
    out.set(unescapeProperty(sep[1]!), unescapeProperty(line.slice(sep[0].length)));
  }
  return out;
}

function unescapeProperty(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_m, c: string) => {
    if (c.length === 5) return String.fromCharCode(parseInt(c.slice(1), 16));
    return c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c === 'f' ? '\f' : c;
  });
}

/**
 * The options of a sasl.jaas.config value (`<LoginModule class> <flag> key="value" …;`), with the login module's
 * class name. Quoted values may hold spaces and `\"`.
 */
export function parseJaasConfig(value: string): { loginModule: string; options: Map<string, string> } {
  // Never echo the value: it holds the password.
  const m = /^\s*([\w.$]+)\s+(required|requisite|sufficient|optional)(?=\s|;|$)/i.exec(value);
  if (m === null) throw new UsageError('sasl.jaas.config: expected "<LoginModule> required username=\"…\" password=\"…\";"');
  const options = new Map<string, string>();
  const optionRe = /\s*([\w.-]+)\s*=\s*(?:"((?:\\.|[^"\\])*)"|([^\s";]+))/y;
  const rest = value.slice(m[0].length);
  let pos = 0;
  for (;;) {
    const tail = rest.slice(pos);
    if (/^\s*;?\s*$/.test(tail)) break;
    optionRe.lastIndex = pos;
    const o = optionRe.exec(rest);
    if (o === null) throw new UsageError('sasl.jaas.config: cannot read the login module options (expected key="value" pairs, ending with ;)');
    options.set(o[1]!, o[2] !== undefined ? o[2].replace(/\\(.)/g, '$1') : o[3]!);
    pos = optionRe.lastIndex;
  }
  return { loginModule: m[1]!, options };
}

// ---- resolving flags + file into a ClientSecurity ------------------------------------------------------------

/** Where each setting came from, for error messages: `--ssl-ca-file` or `ssl.truststore.location in client.properties`. */
interface Setting<T> {
  value: T;
  source: string;
}

interface Settings {
  protocol?: Setting<string>;
  mechanism?: Setting<string>;
  username?: Setting<string>;
  password?: Setting<string>;
  ca?: Setting<Buffer>;
  cert?: Setting<Buffer>;
  key?: Setting<Buffer>;
  pfx?: Setting<Buffer>;
  passphrase?: Setting<string>;
  verifyHostname?: Setting<boolean>;
}

async function readSettingFile(file: string, source: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`${source} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function requirePem(bytes: Buffer, source: string, what: string): Buffer {
  if (!bytes.includes('-----BEGIN')) throw new UsageError(`${source}: not a PEM file (${what}); convert a JKS or PKCS12 store to PEM, e.g. with keytool -exportcert -rfc or openssl pkcs12`);
  return bytes;
}

/** The ClientSecurity settings of a client properties file (table at the top). */
async function settingsFromProperties(file: string): Promise<Settings> {
  const text = (await readSettingFile(file, '--command-config')).toString('utf8');
  const props = parseProperties(text);
  const at = (key: string) => `${key} in ${file}`;
  const get = (key: string) => {
    const v = props.get(key);
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const s: Settings = {};
  const protocol = get('security.protocol');
  if (protocol !== undefined) s.protocol = { value: protocol, source: at('security.protocol') };
  const mechanism = get('sasl.mechanism') ?? get('sasl.mechanisms');
  if (mechanism !== undefined) s.mechanism = { value: mechanism, source: at(props.has('sasl.mechanism') ? 'sasl.mechanism' : 'sasl.mechanisms') };
  const jaas = get('sasl.jaas.config');
  if (jaas !== undefined) {
    const { loginModule, options } = parseJaasConfig(jaas);
    const moduleName = loginModule.split('.').at(-1)!;
    if (moduleName !== 'PlainLoginModule' && moduleName !== 'ScramLoginModule') {
      throw new UsageError(`${at('sasl.jaas.config')}: login module ${loginModule} is not supported (PlainLoginModule or ScramLoginModule)`);
    }
    const expectPlain = moduleName === 'PlainLoginModule';
    if (s.mechanism !== undefined && (s.mechanism.value.toUpperCase() === 'PLAIN') !== expectPlain) {
      throw new UsageError(`${at('sasl.jaas.config')}: ${moduleName} does not fit sasl.mechanism=${s.mechanism.value}`);
    }
    const username = options.get('username');
    const password = options.get('password');
    if (username !== undefined) s.username = { value: username, source: at('sasl.jaas.config') };
    if (password !== undefined) s.password = { value: password, source: at('sasl.jaas.config') };
  }
  const username = get('sasl.username');
  if (username !== undefined) s.username = { value: username, source: at('sasl.username') };
  const password = props.get('sasl.password');
  if (password !== undefined && password !== '') s.password = { value: password, source: at('sasl.password') };

  const truststoreType = (get('ssl.truststore.type') ?? '').toUpperCase();
  const truststore = get('ssl.truststore.location') ?? get('ssl.ca.location');
  const truststoreKey = props.has('ssl.truststore.location') ? 'ssl.truststore.location' : 'ssl.ca.location';
  if (truststore !== undefined) {
    if (truststoreType === 'JKS' || truststoreType === 'PKCS12') throw new UsageError(`${at('ssl.truststore.type')}: ${truststoreType} truststores cannot be read; convert it to PEM (ssl.truststore.type=PEM)`);
    s.ca = { value: requirePem(await readSettingFile(truststore, at(truststoreKey)), at(truststoreKey), 'the CA certificates'), source: at(truststoreKey) };
  }
  const inlineCa = get('ssl.truststore.certificates');
  if (inlineCa !== undefined) s.ca = { value: requirePem(Buffer.from(inlineCa), at('ssl.truststore.certificates'), 'CA certificates'), source: at('ssl.truststore.certificates') };

  const keystoreType = (get('ssl.keystore.type') ?? '').toUpperCase();
  const keystore = get('ssl.keystore.location');
  if (keystore !== undefined) {
    const bytes = await readSettingFile(keystore, at('ssl.keystore.location'));
    if (keystoreType === 'PKCS12') {
      s.pfx = { value: bytes, source: at('ssl.keystore.location') };
      const storePassword = props.get('ssl.keystore.password');
      if (storePassword !== undefined) s.passphrase = { value: storePassword, source: at('ssl.keystore.password') };
    } else if (keystoreType === 'JKS') {
      throw new UsageError(`${at('ssl.keystore.type')}: JKS keystores cannot be read; use PEM (key and certificate chain in one file) or PKCS12`);
    } else {
      // A PEM keystore holds the private key and the certificate chain; Node picks each block out of the same bytes.
      requirePem(bytes, at('ssl.keystore.location'), 'the private key and certificate chain');
      s.cert = { value: bytes, source: at('ssl.keystore.location') };
      s.key = { value: bytes, source: at('ssl.keystore.location') };
    }
  }
  const chain = get('ssl.keystore.certificate.chain');
  const inlineKey = get('ssl.keystore.key');
  if (chain !== undefined) s.cert = { value: requirePem(Buffer.from(chain), at('ssl.keystore.certificate.chain'), 'a certificate chain'), source: at('ssl.keystore.certificate.chain') };
  if (inlineKey !== undefined) s.key = { value: requirePem(Buffer.from(inlineKey), at('ssl.keystore.key'), 'a private key'), source: at('ssl.keystore.key') };
  const certLocation = get('ssl.certificate.location');
  const keyLocation = get('ssl.key.location');
  if (certLocation !== undefined) s.cert = { value: await readSettingFile(certLocation, at('ssl.certificate.location')), source: at('ssl.certificate.location') };
  if (keyLocation !== undefined) s.key = { value: await readSettingFile(keyLocation, at('ssl.key.location')), source: at('ssl.key.location') };
  const keyPassword = props.get('ssl.key.password');
  if (keyPassword !== undefined && keyPassword !== '') s.passphrase = { value: keyPassword, source: at('ssl.key.password') };

  if (props.has('ssl.endpoint.identification.algorithm')) {
    const algorithm = (props.get('ssl.endpoint.identification.algorithm') ?? '').trim();
    if (algorithm !== '' && algorithm.toLowerCase() !== 'https') throw new UsageError(`${at('ssl.endpoint.identification.algorithm')} "${algorithm}": expected https or empty`);
    s.verifyHostname = { value: algorithm !== '', source: at('ssl.endpoint.identification.algorithm') };
  }
  return s;
}

/** The ClientSecurity of a command's flags and --command-config (undefined: PLAINTEXT, nothing configured). */
export async function resolveClientSecurity(args: SecurityArgs): Promise<ClientSecurity | undefined> {
  const s: Settings = args.commandConfig !== undefined ? await settingsFromProperties(args.commandConfig) : {};
  if (args.securityProtocol !== undefined) s.protocol = { value: args.securityProtocol, source: '--security-protocol' };
  if (args.saslMechanism !== undefined) s.mechanism = { value: args.saslMechanism, source: '--sasl-mechanism' };
  if (args.saslUsername !== undefined) s.username = { value: args.saslUsername, source: '--sasl-username' };
  if (args.saslPassword !== undefined && args.saslPasswordFile !== undefined) throw new UsageError('give --sasl-password or --sasl-password-file, not both');
  if (args.saslPassword !== undefined) s.password = { value: args.saslPassword, source: '--sasl-password' };
  if (args.saslPasswordFile !== undefined) {
    const firstLine = (await readSettingFile(args.saslPasswordFile, '--sasl-password-file')).toString('utf8').split(/\r?\n/)[0]!;
    if (firstLine === '') throw new UsageError(`--sasl-password-file ${args.saslPasswordFile}: the first line is empty`);
    s.password = { value: firstLine, source: '--sasl-password-file' };
  }
  if (args.sslCaFile !== undefined) s.ca = { value: requirePem(await readSettingFile(args.sslCaFile, '--ssl-ca-file'), '--ssl-ca-file', 'CA certificates'), source: '--ssl-ca-file' };
  if (args.sslCertFile !== undefined) {
    s.cert = { value: requirePem(await readSettingFile(args.sslCertFile, '--ssl-cert-file'), '--ssl-cert-file', 'a certificate'), source: '--ssl-cert-file' };
    s.pfx = undefined;
  }
  if (args.sslKeyFile !== undefined) s.key = { value: requirePem(await readSettingFile(args.sslKeyFile, '--ssl-key-file'), '--ssl-key-file', 'a private key'), source: '--ssl-key-file' };

  const configured = Object.values(s).some((v) => v !== undefined);
  if (!configured) return undefined;

  const protocolName = (s.protocol?.value ?? 'PLAINTEXT').toUpperCase();
  if (!(CLIENT_SECURITY_PROTOCOLS as readonly string[]).includes(protocolName)) {
    throw new UsageError(`${s.protocol!.source} "${s.protocol!.value}": expected one of ${CLIENT_SECURITY_PROTOCOLS.join(', ')}`);
  }
  const protocol = protocolName as ClientSecurityProtocol;
  const saslSettings = [s.mechanism, s.username, s.password].filter((x) => x !== undefined);
  const tlsSettings = [s.ca, s.cert, s.key, s.pfx, s.verifyHostname].filter((x) => x !== undefined);
  const protocolSource = s.protocol?.source ?? '--security-protocol';
  if (!securityUsesSasl(protocol) && saslSettings.length > 0) {
    throw new UsageError(`${saslSettings[0]!.source} needs security protocol SASL_PLAINTEXT or SASL_SSL (${protocolSource} is ${protocol})`);
  }
  if (!securityUsesTls(protocol) && tlsSettings.length > 0) {
    throw new UsageError(`${tlsSettings[0]!.source} needs security protocol SSL or SASL_SSL (${protocolSource} is ${protocol})`);
  }
  const security: ClientSecurity = { protocol };
  if (securityUsesSasl(protocol)) {
    if (s.mechanism === undefined) throw new UsageError(`security protocol ${protocol} needs --sasl-mechanism (${CLIENT_SASL_MECHANISMS.join(', ')})`);
    const mechanism = s.mechanism.value.toUpperCase();
    if (!(CLIENT_SASL_MECHANISMS as readonly string[]).includes(mechanism)) throw new UsageError(`${s.mechanism.source} "${s.mechanism.value}": expected one of ${CLIENT_SASL_MECHANISMS.join(', ')}`);
    if (s.username === undefined) throw new UsageError(`security protocol ${protocol} needs --sasl-username`);
    if (s.password === undefined) throw new UsageError(`security protocol ${protocol} needs --sasl-password or --sasl-password-file`);
    security.sasl = { mechanism: mechanism as SaslMechanismName, username: s.username.value, password: s.password.value };
  }
  if (securityUsesTls(protocol)) {
    if ((s.cert === undefined) !== (s.key === undefined)) {
      const given = (s.cert ?? s.key)!;
      throw new UsageError(`${given.source} needs its ${s.cert === undefined ? 'certificate (--ssl-cert-file)' : 'private key (--ssl-key-file)'}`);
    }
    const tls: ClientTlsOptions = { ca: s.ca?.value, cert: s.cert?.value, key: s.key?.value, pfx: s.pfx?.value, passphrase: s.passphrase?.value, verifyHostname: s.verifyHostname?.value ?? true };
    security.tls = tls;
  }
  return security;
}
