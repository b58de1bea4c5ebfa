// Every test file gets its own TMPDIR, removed when the file's tests end. Tests make temp caches
// with mkdtempSync(join(tmpdir(), …)) (a vmlinux copy is 633 MB) and the kdbg processes they
// start inherit TMPDIR, so nothing a test or its children leave in a temp dir outlives the file:
// a CI machine that runs the suite many times does not fill its disk (40 leftover watch tests
// held 44 GB here before this).
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// The machine's temp dir, kept once per worker process (a worker may run several files).
const base = (process.env['KDBG_TEST_BASE_TMPDIR'] ??= tmpdir());
const dir = mkdtempSync(join(base, 'kdbg-test-'));
// As /tmp is: tests that run kdbg as other users (setpriv) need to reach their dirs in it.
chmodSync(dir, 0o1777);
process.env['TMPDIR'] = dir;

// Registered first, so it runs after the file's own afterAll hooks (vitest runs them as a stack).
afterAll(() => {
  process.env['TMPDIR'] = base;
  rmSync(dir, { recursive: true, force: true });
});
