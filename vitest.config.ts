import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Test servers start from a copy of one initdb per PostgreSQL version (src/demo/servers.ts), kept here.
const env = { DTS_TEST_INITDB_CACHE: join(tmpdir(), 'dts-test-initdb') };

// Unit tests are pure and fast; integration and end-to-end tests start real PostgreSQL servers,
// so they get long timeouts and fewer files at once on a 2-core machine.
export default defineConfig({
  test: {
    reporters: ['default', './test/harness/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
          globalSetup: ['test/harness/build.ts'],
          env,
        },
      },
      // Long fault-injection runs (npm run test:stress, also run by .ci/run): not part of npm test.
      ...(process.env.DTS_STRESS
        ? [
            {
              test: {
                name: 'stress',
                include: ['test/stress/**/*.test.ts'],
                testTimeout: 900_000,
                hookTimeout: 120_000,
                maxWorkers: 1,
                globalSetup: ['test/harness/build.ts'],
                env,
              },
            },
          ]
        : []),
    ],
  },
});
