import {defineConfig} from 'vitest/config';

// Tests that judge the whole live process table (false-positive gates) run here, after the main
// suite, so no test process spawned elsewhere is alive beside them (vitest.config.ts excludes them).
export default defineConfig({
  test: {
    include: ['test/isolated/**/*.test.ts'],
    testTimeout: 120_000,
    disableConsoleIntercept: true,
    pool: 'forks',
    fileParallelism: false,
  },
});
