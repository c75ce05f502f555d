import { describe, expect, it } from 'vitest';
import { API_CODECS, ApiKey } from '../../src/protocol/generated/index.js';
import {
  readRequestHeader,
  readResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  writeRequestHeader,
  writeResponseHeader,
} from '../../src/protocol/header.js';
import { ProtocolDecodeError, Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

describe('header versions', () => {
  it('request header v2 from the first flexible version, else v1', () => {
    expect(requestHeaderVersion(ApiKey.Produce, 8)).toBe(1);
    expect(requestHeaderVersion(ApiKey.Produce, 9)).toBe(2);
    expect(requestHeaderVersion(ApiKey.Fetch, 11)).toBe(1);
    expect(requestHeaderVersion(ApiKey.Fetch, 12)).toBe(2);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 2)).toBe(1);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 3)).toBe(2);
  });

  it('ControlledShutdown v0 is the only user of request header v0', () => {
    expect(requestHeaderVersion(ApiKey.ControlledShutdown, 0)).toBe(0);
    expect(requestHeaderVersion(ApiKey.ControlledShutdown, 1)).toBe(1);
  });

  it('a version above the schema range is still judged flexible by the first flexible version', () => {
    expect(requestHeaderVersion(ApiKey.ApiVersions, 99)).toBe(2);
  });

  it('response header v1 when flexible, except ApiVersions which always uses v0', () => {
    expect(responseHeaderVersion(ApiKey.Metadata, 8)).toBe(0);
    expect(responseHeaderVersion(ApiKey.Metadata, 9)).toBe(1);
    expect(responseHeaderVersion(ApiKey.ApiVersions, 3)).toBe(0);
    expect(responseHeaderVersion(ApiKey.ApiVersions, 0)).toBe(0);
  });

  it('API_CODECS covers every ApiKey with its version range', () => {
    for (const [name, key] of Object.entries(ApiKey)) {
      const codec = API_CODECS.get(key)!;
      expect(codec.name).toBe(name);
      expect(codec.minVersion).toBeLessThanOrEqual(codec.maxVersion);
    }
    expect(API_CODECS.get(ApiKey.Produce)).toMatchObject({ minVersion: 0, maxVersion: 13, flexibleMinVersion: 9, latestVersionUnstable: false });
    expect(API_CODECS.get(ApiKey.SaslHandshake)!.flexibleMinVersion).toBe(Infinity);
    expect(API_CODECS.get(ApiKey.ShareFetch)!.latestVersionUnstable).toBe(true);
  });
});

describe('request headers', () => {
  it('header v2 keeps the int16-length client id and adds a tagged-field section', () => {
    const w = new Writer();
    writeRequestHeader(w, { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'ab' }, 2);
    expect(w.toBuffer().toString('hex')).toBe('00120003000000070002616200');
    const r = new Reader(w.toBuffer());
    expect(readRequestHeader(r)).toEqual({ requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'ab', headerVersion: 2 });
    expect(r.remaining()).toBe(0);
  });

  it('a null client id is int16 -1', () => {
    const w = new Writer();
    writeRequestHeader(w, { requestApiKey: 3, requestApiVersion: 1, correlationId: 1, clientId: null }, 1);
    expect(w.toBuffer().toString('hex')).toBe('0003000100000001ffff');
    expect(readRequestHeader(new Reader(w.toBuffer())).clientId).toBeNull();
  });

  it('ControlledShutdown v0 has no client id', () => {
    const r = new Reader(Buffer.from('0007000000000005', 'hex'));
    expect(readRequestHeader(r)).toEqual({ requestApiKey: 7, requestApiVersion: 0, correlationId: 5, clientId: '', headerVersion: 0 });
  });

  it('an unknown api key is read as a v1 header so the caller can log and close', () => {
    const r = new Reader(Buffer.from('7fff0001000000090001780102', 'hex'));
    expect(readRequestHeader(r)).toEqual({ requestApiKey: 0x7fff, requestApiVersion: 1, correlationId: 9, clientId: 'x', headerVersion: 1 });
    expect(r.remaining()).toBe(2);
  });

  it('a truncated header throws ProtocolDecodeError', () => {
    expect(() => readRequestHeader(new Reader(Buffer.from('0012', 'hex')))).toThrow(ProtocolDecodeError);
    expect(() => readRequestHeader(new Reader(Buffer.from('001200030000000100', 'hex')))).toThrow(ProtocolDecodeError);
  });
});

describe('response headers', () => {
  it('v0 is the correlation id; v1 adds an empty tagged-field section', () => {
    const w = new Writer();
    writeResponseHeader(w, 258, 0);
    writeResponseHeader(w, 258, 1);
    expect(w.toBuffer().toString('hex')).toBe('00000102' + '0000010200');
    const r = new Reader(w.toBuffer());
    expect(readResponseHeader(r, 0)).toEqual({ correlationId: 258 });
    expect(readResponseHeader(r, 1)).toEqual({ correlationId: 258 });
    expect(r.remaining()).toBe(0);
  });
});
