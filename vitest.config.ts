import {defineConfig} from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    disableConsoleIntercept: true,
    pool: 'forks',
    // Tests that judge the whole live process table run alone (STACK.md: not beside tests that spawn
    // suspicious processes); they live under test/isolated/ and run in a second pass.
    exclude: ['test/isolated/**', 'node_modules/**'],
  },
});
