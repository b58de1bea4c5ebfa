// One crash process per analysis: loading a 633 MB vmlinux costs most of the 10–20 s a session
// takes, so every command goes to the same process over stdin. After each command we send
// `echo <token>` and read stdout up to that token, which delimits the command's output and lets
// the caller decide the next commands from earlier output (bt → the exception RIP → dis -l) while
// crash keeps running. Tokens carry a random nonce so text inside the dump (the kernel log) can
// not end a command early. A single deadline covers the whole session; on expiry the process is
// killed and the partial transcript travels with the AnalysisError.

import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { AnalysisError } from '../core/errors.js';
import { formatTranscript } from './transcript.js';
import type { TranscriptSection } from './transcript.js';

export interface CrashSessionOptions {
  crash: string;
  vmlinux: string;
  /** A stripped NAMELIST whose debuginfo is `vmlinux` (SUSE): crash IMAGE VMLINUX.debug DUMP. */
  image?: string;
  dump: string;
  /** Whole-session deadline. */
  timeoutMs: number;
  /** Extra crash arguments before the file names. */
  args?: string[];
  env?: Record<string, string | undefined>;
  /** Lines for the transcript header. */
  header?: string[];
}

interface Pending {
  token: string;
  section: TranscriptSection;
  resolve: (out: string) => void;
  reject: (e: Error) => void;
}

export class CrashSession {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly nonce = randomBytes(6).toString('hex');
  private seq = 0;
  private stdoutBuf = '';
  private readonly queue: Pending[] = [];
  readonly sections: TranscriptSection[] = [];
  private failure: AnalysisError | null = null;
  private exited: Promise<{ code: number | null; signal: string | null }>;
  private exitInfo: { code: number | null; signal: string | null } | null = null;
  private readonly timer: NodeJS.Timeout;
  private current: TranscriptSection | null = null;
  /** What crash printed while loading, before the first command. */
  startup: TranscriptSection | null = null;
  readonly startedAt = Date.now();
  readonly argv: string[];
  /** When crash exited (null: still running): its lifetime is exitedAt - startedAt. */
  exitedAt: number | null = null;
  /**
   * Time crash sat with no command queued after loading: waiting for kdbg (the module step, the
   * plan's next round). kdbg's own share of an analysis is what is left of its wall time once
   * crash's lifetime minus this is taken off (docs/analyze.md, timings).
   */
  idleMs = 0;
  private idleSince: number | null = null;

  private constructor(private readonly opts: CrashSessionOptions) {
    this.argv = [...(opts.args ?? []), '-s', '--no_crashrc', ...(opts.image ? [opts.image] : []), opts.vmlinux, opts.dump];
    this.child = spawn(opts.crash, this.argv, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env as NodeJS.ProcessEnv | undefined });
    this.child.stdin.on('error', () => {
      // EPIPE after crash exited: the exit handler reports it with crash's own message.
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (e) => {
        this.fail(new AnalysisError(`cannot run ${opts.crash}: ${e.message}`, { cause: e, details: { crash: opts.crash } }));
        this.exitInfo = { code: null, signal: null };
        resolve(this.exitInfo);
      });
      this.child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        this.exitedAt = Date.now();
        if (this.queue.length > 0) {
          const p = this.queue[0]!;
          const said = lastLines(this.stdoutBuf + p.section.output + p.section.stderr, 6);
          this.fail(
            new AnalysisError(
              `crash exited (${signal ? `signal ${signal}` : `code ${code}`}) while running "${p.section.command}"${said ? `: ${said}` : ''}`,
              { details: { command: p.section.command, exitCode: code, signal } },
            ),
          );
        }
        resolve(this.exitInfo);
      });
    });
    this.timer = setTimeout(() => {
      const cmd = this.queue[0]?.section.command ?? '(idle)';
      this.fail(new AnalysisError(`crash timed out after ${Math.round(opts.timeoutMs / 1000)} s while running "${cmd}"`, { details: { command: cmd, timeoutMs: opts.timeoutMs } }));
      this.child.kill('SIGKILL');
    }, opts.timeoutMs);
    this.timer.unref();
    void this.pump(this.child.stdout, 'out');
    void this.pump(this.child.stderr, 'err');
  }

  /** Spawn crash; call ready() before the first command to learn whether it loaded the dump. */
  static spawn(opts: CrashSessionOptions): CrashSession {
    return new CrashSession(opts);
  }

  /** Wait until crash has loaded the vmlinux and the dump (throws AnalysisError when it gave up). */
  async ready(): Promise<void> {
    // The startup section collects what crash prints while loading (warnings, or why it gave up).
    await this.run('', { hidden: true });
  }

  /** Start crash and wait until it has loaded the vmlinux and the dump. */
  static async start(opts: CrashSessionOptions): Promise<CrashSession> {
    const s = new CrashSession(opts);
    await s.ready();
    return s;
  }

  private async pump(stream: Readable, which: 'out' | 'err'): Promise<void> {
    stream.setEncoding('utf8');
    try {
      for await (const chunk of stream as AsyncIterable<string>) {
        if (which === 'err') {
          const target = this.queue[0]?.section ?? this.current;
          if (target) target.stderr += chunk;
          continue;
        }
        this.stdoutBuf += chunk;
        this.drain();
      }
    } catch {
      // stream destroyed on kill; the close handler reports.
    }
  }

  private drain(): void {
    for (;;) {
      const p = this.queue[0];
      if (!p) return;
      const at = this.stdoutBuf.startsWith(`${p.token}\n`) ? 0 : this.stdoutBuf.indexOf(`\n${p.token}\n`);
      if (at === -1) return;
      const out = at === 0 ? '' : this.stdoutBuf.slice(0, at + 1);
      const skip = at === 0 ? p.token.length + 1 : at + 1 + p.token.length + 1;
      this.stdoutBuf = this.stdoutBuf.slice(skip);
      p.section.output = out;
      this.queue.shift();
      if (this.queue.length === 0) this.idleSince = Date.now();
      this.current = p.section;
      p.resolve(out);
    }
  }

  private fail(e: AnalysisError): void {
    if (this.failure) return;
    this.failure = e;
    // Whatever crash printed after the last finished command belongs to the one that was running.
    const p = this.queue[0];
    if (p && this.stdoutBuf) {
      p.section.output += this.stdoutBuf;
      this.stdoutBuf = '';
    }
    for (const q of this.queue.splice(0)) q.reject(e);
    clearTimeout(this.timer);
  }

  /** Run one command; resolves with its output. Commands are queued in order. */
  run(command: string, opts: { hidden?: boolean } = {}): Promise<string> {
    if (/[\n\r]/.test(command)) return Promise.reject(new AnalysisError(`crash command contains a newline: ${JSON.stringify(command)}`));
    if (this.failure) return Promise.reject(this.failure);
    const token = `__KDBG_${this.nonce}_${++this.seq}__`;
    const section: TranscriptSection = { command: opts.hidden ? '' : command, output: '', stderr: '' };
    if (!opts.hidden) this.sections.push(section);
    else this.startup = section;
    this.endIdle();
    const promise = new Promise<string>((resolve, reject) => this.queue.push({ token, section, resolve, reject }));
    this.child.stdin.write(`${command === '' ? '' : `${command}\n`}echo ${token}\n`);
    return promise;
  }

  /** Queue several commands at once (crash reads them as it goes) and wait for all. */
  async runAll(commands: readonly string[]): Promise<string[]> {
    return Promise.all(commands.map((c) => this.run(c)));
  }

  private endIdle(): void {
    if (this.idleSince !== null) this.idleMs += Date.now() - this.idleSince;
    this.idleSince = null;
  }

  /** Send quit and wait for crash to exit (bounded by the session deadline). */
  async close(): Promise<{ code: number | null; signal: string | null }> {
    this.endIdle();
    if (!this.failure && this.exitInfo === null) {
      this.child.stdin.write('quit\n');
      this.child.stdin.end();
    }
    const r = await this.exited;
    clearTimeout(this.timer);
    return r;
  }

  /** Kill crash (used when the caller gives up). */
  kill(): void {
    if (this.exitInfo === null) this.child.kill('SIGKILL');
    clearTimeout(this.timer);
  }

  get error(): AnalysisError | null {
    return this.failure;
  }

  /** The transcript so far (also after a failure: that is when it matters most). */
  transcript(): string {
    const head = [...(this.opts.header ?? []), `command: ${[this.opts.crash, ...this.argv].join(' ')}`];
    const startup = this.startup && (this.startup.output || this.startup.stderr) ? [{ ...this.startup, command: '# (startup)' }] : [];
    return formatTranscript(head, [...startup, ...this.sections]);
  }
}

function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('__KDBG_'))
    .slice(-n)
    .join(' | ');
}
