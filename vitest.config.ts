import {defineConfig} from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    disableConsoleIntercept: true,
    pool: 'forks',
    // Tests that judge the whole live process table run alone, not beside tests that spawn suspicious
    // processes (a reverse shell started by one test is a true positive for another); they live under
    // test/isolated/ and run in a second pass (vitest.isolated.config.ts).
    exclude: ['test/isolated/**', 'node_modules/**'],
  },
});
