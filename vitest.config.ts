import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests run real rpmbuild/QEMU/crash artefacts: give them room, but keep the
    // two cores of a CI machine from being oversubscribed.
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Tests talk only to 127.0.0.1: a host profile that points DEBUGINFOD_URLS at a public
    // server must not leak into kdbg processes the tests start (tests that need it set it).
    env: { DEBUGINFOD_URLS: '' },
    // A TMPDIR per test file, removed after it (test/setup/tmpdir.ts).
    setupFiles: ['test/setup/tmpdir.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
