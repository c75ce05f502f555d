import { describe, expect, it } from 'vitest';
import { SampledRate } from '../../src/quota/sampled-rate.js';

const W = { samples: 11, windowMs: 1000 };

describe('SampledRate (Kafka Rate over SampledStat windows)', () => {
  it('measures a fresh rate over samples - 1 full windows, so an early burst is spread over 10 s', () => {
    const r = new SampledRate(W);
    r.record(5000, 1000);
    // span = 0 elapsed + 10 full windows assumed = 10 s
    expect(r.windowSpanMs(1000)).toBe(10_000);
    expect(r.measure(1000)).toBe(500);
  });

  it('uses the real elapsed span once more than samples - 1 windows have passed', () => {
    const r = new SampledRate(W);
    for (let t = 0; t <= 10_500; t += 500) r.record(100, t);
    // oldest window still kept started at 0 → span 10.5 s
    expect(r.windowSpanMs(10_500)).toBe(10_500);
  });

  it('drops windows whose last value is samples × window old', () => {
    const r = new SampledRate(W);
    r.record(1_000_000, 0);
    expect(r.measure(10_999)).toBeGreaterThan(0);
    expect(r.measure(11_000)).toBe(0);
  });

  it('throttle time is (rate - bound) / bound × span, rounded', () => {
    const r = new SampledRate(W);
    // 20 000 over a 10 s span = 2000/s against a bound of 1000/s → (2000-1000)/1000 × 10 000 ms
    expect(r.recordAndGetThrottleTimeMs(20_000, 0, 1000)).toBe(10_000);
    const within = new SampledRate(W);
    expect(within.recordAndGetThrottleTimeMs(10_000, 0, 1000)).toBe(0);
  });

  it('caps the throttle time when asked (request quota, connection rate)', () => {
    const r = new SampledRate(W);
    expect(r.recordAndGetThrottleTimeMs(20_000, 0, 1000, 1000)).toBe(1000);
  });

  it('a negative record unrecords a value (a throttled fetch)', () => {
    const r = new SampledRate(W);
    r.record(20_000, 0);
    r.record(-20_000, 0);
    expect(r.throttleTimeMs(0, 1000)).toBe(0);
  });

  it('reuses the ring of samples + 1 windows: old values fall out as time moves on', () => {
    const r = new SampledRate(W);
    r.record(11_000, 0);
    for (let t = 1000; t <= 12_000; t += 1000) r.record(0, t);
    // the window that held 11 000 was reused for a later one
    expect(r.measure(12_000)).toBe(0);
  });
});
