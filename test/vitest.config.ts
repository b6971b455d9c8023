import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts', 'engine/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two test files at a time: vitest's default on a 2-core machine is one (cores − 1), and most files wait on
    // PostgreSQL, child processes and HTTP more than they compute; each file has its own database, temp folders
    // and free ports, so they do not meet (three at a time was no faster on 2 cores: each file took longer).
    // RSYNC_TEST_WORKERS overrides it.
    maxWorkers: Number(process.env.RSYNC_TEST_WORKERS ?? 2),
  },
});
