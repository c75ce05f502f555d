import { describe, expect, it } from 'vitest';
import { ClientQuotaManager } from '../../src/quota/client-quota-manager.js';

const W = { samples: 11, windowMs: 1000 };

describe('ClientQuotaManager precedence (Kafka DefaultQuotaCallback)', () => {
  it('applies the most specific of the eight levels', () => {
    const m = new ClientQuotaManager('producer_byte_rate', W);
    m.updateQuota(undefined, null, 8); // /clients/<default>
    m.updateQuota(undefined, 'app', 7); // /clients/app
    m.updateQuota(null, undefined, 6); // /users/<default>
    m.updateQuota(null, null, 5); // /users/<default>/clients/<default>
    m.updateQuota(null, 'app', 4); // /users/<default>/clients/app
    m.updateQuota('alice', undefined, 3); // /users/alice
    m.updateQuota('alice', null, 2); // /users/alice/clients/<default>
    m.updateQuota('alice', 'app', 1); // /users/alice/clients/app
    expect(m.quotaFor('alice', 'app')).toBe(1);
    m.updateQuota('alice', 'app', null);
    expect(m.quotaFor('alice', 'app')).toBe(2);
    m.updateQuota('alice', null, null);
    expect(m.quotaFor('alice', 'app')).toBe(3);
    m.updateQuota('alice', undefined, null);
    expect(m.quotaFor('alice', 'app')).toBe(4);
    m.updateQuota(null, 'app', null);
    expect(m.quotaFor('alice', 'app')).toBe(5);
    m.updateQuota(null, null, null);
    expect(m.quotaFor('alice', 'app')).toBe(6);
    m.updateQuota(null, undefined, null);
    expect(m.quotaFor('alice', 'app')).toBe(7);
    m.updateQuota(undefined, 'app', null);
    expect(m.quotaFor('alice', 'app')).toBe(8);
    m.updateQuota(undefined, null, null);
    expect(m.quotaFor('alice', 'app')).toBeUndefined();
  });

  it('a user quota is one rate shared by all the user\'s client ids', () => {
    const m = new ClientQuotaManager('producer_byte_rate', W);
    m.updateQuota('alice', undefined, 1000);
    expect(m.metricTags('alice', 'a')).toEqual(['alice', '']);
    expect(m.recordAndGetThrottleTimeMs('alice', 'a', 10_000, 0)).toBe(0);
    // the second client id pushes the shared rate over: 20 000 / 10 s = 2000/s
    expect(m.recordAndGetThrottleTimeMs('alice', 'b', 10_000, 0)).toBe(10_000);
    expect(m.recordAndGetThrottleTimeMs('bob', 'a', 10_000, 0)).toBe(0);
  });

  it('a client-id quota is one rate per client id, across users', () => {
    const m = new ClientQuotaManager('producer_byte_rate', W);
    m.updateQuota(undefined, null, 1000);
    expect(m.metricTags('alice', 'a')).toEqual(['', 'a']);
    expect(m.recordAndGetThrottleTimeMs('alice', 'a', 10_000, 0)).toBe(0);
    expect(m.recordAndGetThrottleTimeMs('bob', 'a', 10_000, 0)).toBeGreaterThan(0);
    expect(m.recordAndGetThrottleTimeMs('bob', 'b', 10_000, 0)).toBe(0);
  });

  it('with several levels, a client without a user-level quota falls back to its client-id quota', () => {
    const m = new ClientQuotaManager('producer_byte_rate', W);
    m.updateQuota('alice', undefined, 100);
    m.updateQuota(undefined, 'app', 5000);
    expect(m.metricTags('alice', 'app')).toEqual(['alice', '']);
    expect(m.metricTags('bob', 'app')).toEqual(['', 'app']);
    expect(m.quotaFor('bob', 'app')).toBe(5000);
    expect(m.quotaFor('bob', 'other')).toBeUndefined();
  });

  it('a changed quota applies to a rate already being measured', () => {
    const m = new ClientQuotaManager('producer_byte_rate', W);
    m.updateQuota(undefined, 'app', 1_000_000);
    expect(m.recordAndGetThrottleTimeMs('u', 'app', 20_000, 0)).toBe(0);
    m.updateQuota(undefined, 'app', 1000);
    expect(m.recordAndGetThrottleTimeMs('u', 'app', 0, 0)).toBe(10_000);
  });

  it('the request quota caps throttle time at one window; max fetch bytes is bound × (samples - 1) × window', () => {
    const m = new ClientQuotaManager('request_percentage', W, 1000);
    m.updateQuota(undefined, 'app', 10);
    expect(m.recordAndGetThrottleTimeMs('u', 'app', 1000, 0)).toBe(1000);
    const f = new ClientQuotaManager('consumer_byte_rate', W);
    expect(f.maxValueInQuotaWindow('u', 'app')).toBe(Infinity);
    f.updateQuota(undefined, 'app', 1000);
    expect(f.maxValueInQuotaWindow('u', 'app')).toBe(10_000);
  });
});
