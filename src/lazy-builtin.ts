// Node built-ins that only some brokers use (node:tls with a TLS listener, node:v8 for an early GC, node:readline
// for `eddy produce` from stdin), loaded on first use instead of at every start: ~5 ms of module load that
// `eddy start` on a plain listener never needs (BENCHMARKS.md, startup). Synchronous, so constructors can call it.
import { createRequire } from 'node:module';

const requireBuiltin = createRequire(import.meta.url);

export function lazyBuiltin<T>(name: `node:${string}`): T {
  return requireBuiltin(name) as T;
}
