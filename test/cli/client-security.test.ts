// --command-config parsing (src/cli/commands/client-security.ts): Java properties and sasl.jaas.config values.
import { describe, expect, it } from 'vitest';
import { parseJaasConfig, parseProperties } from '../../src/cli/commands/client-security.js';

describe('parseProperties', () => {
  it('reads key=value, key: value and key value, skips # and ! comments, joins continued lines and unescapes', () => {
    const props = parseProperties(['# comment', '! also a comment', 'security.protocol=SASL_SSL', 'sasl.mechanism: PLAIN', 'client.id eddy', 'a.b = x \\', '   y', 'path=C\\:\\\\certs\\\\ca.pem', 'u=\\u0041', 'empty='].join('\n'));
    expect(Object.fromEntries(props)).toEqual({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'client.id': 'eddy', 'a.b': 'x y', path: 'C:\\certs\\ca.pem', u: 'A', empty: '' });
  });
});

describe('parseJaasConfig', () => {
  it('reads the login module and quoted or bare options', () => {
    const { loginModule, options } = parseJaasConfig('org.apache.kafka.common.security.scram.ScramLoginModule required username="al ice" password="p\\"w;d" tokenauth=false;');
    expect(loginModule).toBe('org.apache.kafka.common.security.scram.ScramLoginModule');
    expect(Object.fromEntries(options)).toEqual({ username: 'al ice', password: 'p"w;d', tokenauth: 'false' });
  });

  it('a value without a control flag is a usage error', () => {
    expect(() => parseJaasConfig('PlainLoginModule username="a";')).toThrow(/sasl.jaas.config/);
  });
});
