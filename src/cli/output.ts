// Output helpers for commands: stdout for results, stderr for diagnostics and progress.

export function writeOut(line: string): void {
  process.stdout.write(line.endsWith('\n') ? line : `${line}\n`);
}

export function writeErr(line: string): void {
  process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
}

/** One JSON document on stdout (the --json contract). */
export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonReplacer)}\n`);
}

/** One JSON line (for streaming batch output). */
export function writeJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonReplacer)}\n`);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export function setExitCode(code: number): void {
  process.exitCode = code;
}
