// The Markdown report: the first screen answers what crashed, where, and why probably; the
// evidence and the raw material (backtrace, memory, processes, log tail) follow.
import type { ChainEntry } from '../call-chain.js';
import type { LogBtComparison, LogBtStatus } from '../log-vs-bt.js';
import type { AnalysisReport, SourceQuote } from '../index.js';

function code(lines: string[]): string {
  return ['```', ...lines, '```'].join('\n');
}

export function verificationLine(v: unknown): string {
  const r = v as { ok?: boolean; forced?: boolean; checks?: { kind: string; status: string }[] } | null;
  if (!r || !r.checks) return 'not verified';
  const parts = r.checks.filter((c) => c.status !== 'unavailable').map((c) => `${c.kind} ${c.status}`);
  return `${r.forced ? 'MISMATCH (forced) — ' : ''}${parts.join(', ') || 'nothing comparable'}`;
}

/** One call-chain line: "> #4 kdbg_oops_write [kdbg_oops]  kdbg_oops.c:21". */
export function chainLine(c: ChainEntry, mark: string): string {
  const what = c.kind === 'exception' ? `[exception RIP: ${c.function}${c.offset !== null ? `+${c.offset}` : ''}]` : `#${c.level} ${c.function}`;
  const place = c.file !== null && c.line !== null ? `${c.file}:${c.line}` : '(no line info)';
  return `${mark}${what}${c.module ? ` [${c.module}]` : ''}  ${place}${c.stack ? `  (${c.stack})` : ''}`;
}

const LOG_BT_MARK: Record<LogBtStatus, string> = { both: '=', 'log-only': '<', 'log-unreliable': ' ', 'bt-only': '>', 'panic-path': '·' };

/**
 * The log's trace beside bt, one row a frame: "= panic+0x118 | #0 panic". Marks: = in both,
 * < only the log, > only bt, · the panic path either side took; the log's own "? fn" guesses, which
 * crash's unwinder skips, are folded when three or more stand together (report.json keeps them).
 */
export function logVsBtLines(c: LogBtComparison): string[] {
  const w = Math.min(48, Math.max(10, ...c.rows.map((r) => (r.log ?? '').length)));
  const out = [`  ${'log (the kernel, at the crash)'.padEnd(w)} | bt (crash)`];
  for (let i = 0; i < c.rows.length; ) {
    let j = i;
    while (j < c.rows.length && c.rows[j]!.status === 'log-unreliable') j++;
    if (j - i >= 3) {
      out.push(`  (${j - i} "?" frames: stale return addresses the kernel's unwinder found on the stack)`);
      i = j;
      continue;
    }
    const r = c.rows[i++]!;
    out.push(`${LOG_BT_MARK[r.status]} ${(r.log ?? '').padEnd(w)} | ${r.bt ?? ''}`.trimEnd());
  }
  return out;
}

function snippet(q: SourceQuote): string {
  return code(q.lines.map((l, i) => `${q.first + i === q.line ? '>' : ' '}${String(q.first + i).padStart(6)}  ${l}`));
}

export function renderMarkdown(r: AnalysisReport): string {
  const s = r.summary;
  const loc = s.location;
  const out: string[] = [];
  out.push(`# ${s.headline}`, '');
  out.push(`- **What:** ${s.panicMessage ? `\`${s.panicMessage}\`` : 'no panic message found'} — class \`${s.panicClass}\`${s.faultAddress ? `, address \`${s.faultAddress}\`` : ''}${s.bugAt ? `, at \`${s.bugAt}\`` : ''}`);
  if (loc) {
    out.push(`- **Where:** \`${loc.text}\`${loc.module ? ` in module \`${loc.module}\`` : ''}${loc.file ? ` — \`${loc.file}:${loc.line}\`` : ''}${loc.instruction ? ` — \`${loc.instruction}\`` : ''}`);
  } else out.push('- **Where:** unknown');
  out.push(`- **Why (probably):** ${s.probableCause}`);
  if (s.signature) out.push(`- **Signature:** \`${s.signature.id}\` ${s.signature.text}`);
  out.push(`- **Task:** ${s.task ? `\`${s.task.command}\` (PID ${s.task.pid}) on CPU ${s.task.cpu ?? '?'}` : 'unknown'}`);
  out.push(`- **Kernel:** \`${r.system.release ?? r.dump.release ?? '?'}\` ${r.system.version ?? ''} · ${r.system.cpus ?? '?'} CPUs · ${r.system.memory ?? '?'} · uptime ${r.system.uptime ?? '?'}`);
  out.push(`- **Analysis:** crash ${r.crash.version ?? '?'} (${Math.round(r.crash.durationMs / 100) / 10} s) · vmlinux ${verificationLine(r.verification)}`);
  if (r.warnings.length) for (const w of r.warnings) out.push(`- **Warning:** ${w}`);
  if (r.crash.fix) out.push(`- **Fix:** \`${r.crash.fix}\``);
  out.push('');
  // The order an engineer reads a crash in: the call chain, the faulting line, the caller's line.
  const chain = r.callChain ?? [];
  if (chain.length && r.backtrace) {
    const t = r.backtrace;
    out.push('## Call chain (`bt -l`)', '');
    const head = `PID: ${t.pid}  TASK: ${t.task}  CPU: ${t.cpu ?? '-'}  COMMAND: "${t.command}"`;
    out.push(code([head, ...chain.map((c, i) => chainLine(c, i === r.faultIndex ? '> ' : i === r.callerIndex ? '^ ' : '  '))]), '');
  }
  if (r.source) out.push(`## Source: ${r.source.file}:${r.source.line}`, '', snippet(r.source), '');
  const caller = r.callerIndex !== null && r.callerIndex !== undefined ? chain[r.callerIndex] : undefined;
  if (r.callerSource) out.push(`## Caller: ${r.callerSource.file}:${r.callerSource.line}${caller ? ` (\`${caller.function}\`)` : ''}`, '', snippet(r.callerSource), '');
  if (r.sourceNote) out.push(`_Sources: ${r.sourceNote}._`, '');
  if (r.logVsBt) out.push("## The dump's own log beside `bt`", '', `${r.logVsBt.verdict}.`, '', code(logVsBtLines(r.logVsBt)), '');
  out.push('## Findings', '');
  for (const f of r.findings) {
    out.push(`### ${f.severity.toUpperCase()}: ${f.title}`, '', f.detail, '');
    if (f.evidence.length) out.push(code(f.evidence.map((e) => `[${e.command}] ${e.line}`)), '');
  }
  if (r.backtrace && chain.length === 0) {
    const t = r.backtrace;
    out.push(`## Backtrace of the panicking task (\`bt\`)`, '');
    const ls = [`PID: ${t.pid}  TASK: ${t.task}  CPU: ${t.cpu ?? '-'}  COMMAND: "${t.command}"`];
    t.frames.forEach((f, i) => {
      for (const e of t.exceptions.filter((x) => x.beforeFrame === i)) ls.push(`    [exception RIP: ${e.location}]`);
      ls.push(` #${f.level} ${f.function}${f.module ? ` [${f.module}]` : ''}  ${f.address}${f.stack ? `  (${f.stack})` : ''}`);
    });
    out.push(code(ls), '');
  }
  if (r.allCpus.length > 1) {
    out.push('## Other CPUs (`bt -a`)', '');
    out.push(code(r.allCpus.map((t) => `CPU ${t.cpu ?? '-'}: ${t.command} (${t.pid}): ${[...t.exceptions.map((e) => `[${e.location}]`), ...t.frames.slice(0, 6).map((f) => f.function)].join(' ← ')}`)), '');
  }
  if (r.memory) {
    out.push('## Memory (`kmem -i`)', '', '| | pages | size | % |', '|---|---:|---:|---|');
    for (const row of r.memory.rows) out.push(`| ${row.label} | ${row.pages} | ${row.size} | ${row.percent !== null ? `${row.percent}% of ${row.of}` : ''} |`);
    out.push('');
  }
  if (r.processes) {
    out.push('## Processes (`ps`)', '', `${r.processes.total} tasks: ${Object.entries(r.processes.stateCounts).map(([k, v]) => `${k} ${v}`).join(', ')}`, '');
    if (r.processes.dState.length) out.push(`D state: ${r.processes.dState.map((d) => `${d.comm} (${d.pid})`).join(', ')}`, '');
  }
  if (r.modules.length) out.push('## Modules (`mod`)', '', r.modules.map((m) => `\`${m.name}\`${m.objectFile ? ' (debug info loaded)' : ''}`).join(', '), '');
  const md = r.moduleDebug;
  if (md && md.missing.length) out.push('Modules without debug info (their frames have no file:line):', '', ...md.missing.map((m) => `- \`${m.name}\`: ${m.reason}`), '');
  out.push('## Kernel log (tail)', '', code(r.logTail.slice(-40)), '');
  out.push('## Commands run', '', ...r.commands.map((c) => `- \`${c.command}\` — ${c.lines} lines${c.error ? ` — error: ${c.error}` : ''}`), '');
  out.push(`_Dump \`${r.dump.path}\` · vmlinux \`${r.vmlinux.path}\` · ${r.schema} · ${r.generatedAt}_`, '');
  return out.join('\n');
}
