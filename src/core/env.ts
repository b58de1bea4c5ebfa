// The one place below the CLI that reads the process environment. Stages take an `env` record
// from their caller; the pipeline's default for it, and the two knobs read where no caller can
// pass one (the xz thread pool size), come from here. test/architecture/layering.test.ts allows
// `process.env` in this file and in src/cli/ only.

export type Env = Readonly<Record<string, string | undefined>>;

/** The process environment (KDBG_CACHE_DIR, XDG_*, KDBG_CONFIG, DEBUGINFOD_URLS, proxies, …). */
export function processEnv(): Env {
  return process.env;
}

/**
 * Base URLs of the historical archives set in the environment (docs/mirrors.md, "Archives"):
 * KDBG_DEBIAN_SNAPSHOT_URL (the Debian snapshot service) and KDBG_LAUNCHPAD_URL (Launchpad's web
 * service root, e.g. its `devel/` API). Read here so that resolve/ takes them from an `env`
 * record like every other setting; empty values count as unset.
 */
export function archiveUrlsFromEnv(env: Env): { debianSnapshot?: string; launchpad?: string } {
  const out: { debianSnapshot?: string; launchpad?: string } = {};
  const snap = env['KDBG_DEBIAN_SNAPSHOT_URL'];
  const lp = env['KDBG_LAUNCHPAD_URL'];
  if (snap) out.debianSnapshot = snap;
  if (lp) out.launchpad = lp;
  return out;
}

/**
 * The root the host configuration is read under (`/etc/yum.repos.d`, `/etc/zypp`, `/etc/apt`,
 * `/etc/kdbg`, and the certificate paths those files name): KDBG_ROOT, else `/`. For a copy of
 * another machine's configuration, a container image, or tests.
 */
export function hostRoot(env: Env): string {
  return env['KDBG_ROOT'] || '/';
}

/**
 * The memory watch of a fetch (core/gc-pressure.ts), as the environment sets it: KDBG_GC_STEP_MB
 * (MiB of ArrayBuffer growth that asks for a major GC; 0: never) and KDBG_YOUNG_CAP=0 (let V8's
 * young generation grow as by default). Unset or unreadable values keep the defaults.
 */
export function memoryWatchFromEnv(env: Env): { stepBytes?: number; capYoung?: boolean } {
  const out: { stepBytes?: number; capYoung?: boolean } = {};
  const step = env['KDBG_GC_STEP_MB'];
  if (step !== undefined && step !== '' && Number.isFinite(Number(step)) && Number(step) >= 0) out.stepBytes = Math.round(Number(step) * 1048576);
  if (env['KDBG_YOUNG_CAP'] === '0') out.capYoung = false;
  return out;
}
