// Output helpers for commands: stdout for results, stderr for diagnostics and progress.

import { writeSync } from 'node:fs';

/** Whether stdout is written with writeSync on fd 1 rather than through process.stdout (useDirectStdout). */
let direct = false;

/**
 * Write stdout with writeSync on fd 1 from now on, for the bundled fast path of `kdbg log` and
 * `kdbg identify` (cli/fast.ts). process.stdout is a stream that node builds on first use, loading
 * node:stream and, for a pipe or a terminal, node:net and node:tty: about 9 M instructions, a few ms
 * of a command that takes 20. The bytes are the same: node writes a file, a pipe or a terminal
 * synchronously on Linux too, as UTF-8. Should a write fail (EPIPE, or EAGAIN from a pipe another
 * process made non-blocking), the rest goes through process.stdout after all, which fails or waits
 * as it always did, with the EPIPE exit of exitOnEpipe.
 */
export function useDirectStdout(): void {
  direct = true;
}

export function stdoutIsDirect(): boolean {
  return direct;
}

/** Text to stdout, as it is (on the direct path, as its UTF-8 bytes through writeBytes). */
export function writeText(text: string): void {
  if (direct) writeBytes(Buffer.from(text, 'utf8'));
  else process.stdout.write(text);
}

/** Bytes to stdout, as they are: writeText for text already encoded (`kdbg log`'s records). */
export function writeBytes(bytes: Uint8Array): void {
  if (direct) {
    let at = 0;
    try {
      while (at < bytes.length) at += writeSync(1, bytes, at, bytes.length - at);
      return;
    } catch {
      direct = false;
      exitOnEpipe();
      process.stdout.write(bytes.subarray(at));
      return;
    }
  }
  process.stdout.write(bytes);
}

/**
 * `kdbg unpack --list | head`: the reader closing the pipe is its choice, not a kdbg error (no stack
 * trace from an unhandled EPIPE): exit 0.
 */
export function exitOnEpipe(): void {
  if (process.stdout.listenerCount('error') === 0) {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
}

export function writeOut(line: string): void {
  writeText(line.endsWith('\n') ? line : `${line}\n`);
}

/** writeErr was called (process.stderr exists and may hold a line). */
let stderrUsed = false;

export function writeErr(line: string): void {
  stderrUsed = true;
  process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
}

/**
 * Everything written so far has reached the kernel: stdout went straight to fd 1 (no fallback to
 * process.stdout), and stderr, if used, holds nothing queued. bin/kdbg.js then ends the fast path
 * with process.exit() rather than letting node tear the heap down (cli/fast.ts says why).
 */
export function outputSettled(): boolean {
  return direct && (!stderrUsed || process.stderr.writableLength === 0);
}

/** One JSON document on stdout (the --json contract). */
export function writeJson(value: unknown): void {
  writeText(`${JSON.stringify(value, jsonReplacer)}\n`);
}

/** One JSON line (for streaming batch output). */
export function writeJsonLine(value: unknown): void {
  writeText(`${JSON.stringify(value, jsonReplacer)}\n`);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export function setExitCode(code: number): void {
  process.exitCode = code;
}
