import {availableParallelism} from 'node:os';

import {defineConfig} from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    disableConsoleIntercept: true,
    pool: 'forks',
    // One test file per CPU. Vitest's default is one fewer than the CPUs (a single fork on a 2-core CI
    // machine), but most of this suite's time is spent waiting on the CLI processes, servers and signals a
    // test starts, not in the fork itself: on 2 cores two forks took the suite from one core's worth of
    // work to nearly two (1,440 s of test time in 786 s, load average 5-10).
    maxWorkers: Math.max(2, availableParallelism()),
    // Tests that judge the whole live process table run alone, not beside tests that spawn suspicious
    // processes (a reverse shell started by one test is a true positive for another); they live under
    // test/isolated/ and run in a second pass (vitest.isolated.config.ts).
    exclude: ['test/isolated/**', 'node_modules/**'],
  },
});
