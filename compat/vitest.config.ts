import { defineConfig } from 'vitest/config';

// Real-client compatibility suites (kcat/librdkafka, kafka-python, confluent-kafka-python) against the compiled
// broker CLI. They run outside `npm test`: `npm run test:compat`. One file at a time, because each spawns a
// broker plus client processes and the CI machine has two cores.
export default defineConfig({
  test: {
    include: ['compat/**/*.test.ts'],
    globalSetup: ['compat/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
