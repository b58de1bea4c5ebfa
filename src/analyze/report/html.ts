// One self-contained HTML page (inline CSS, no scripts, no external resources) built from the
// same report model as the Markdown.
import type { AnalysisReport } from '../index.js';
import type { SourceQuote } from '../index.js';
import { chainLine, logVsBtLines, verificationLine } from './markdown.js';

function snippet(e: (s: string) => string, title: string, q: SourceQuote): string {
  const rows = q.lines.map((l, i) => {
    const n = q.first + i;
    return `<span${n === q.line ? ' class="hl"' : ''}>${String(n).padStart(6)}  ${e(l)}</span>`;
  });
  return `<h2>${e(title)}</h2><pre>${rows.join('\n')}</pre>`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CSS = `body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.5rem;border-bottom:3px solid #b00020;padding-bottom:.3rem}h2{font-size:1.15rem;margin-top:2rem}
pre{background:#f5f5f5;padding:.6rem;overflow-x:auto;font-size:13px}code{background:#f0f0f0;padding:0 .2rem}
dl.sum{display:grid;grid-template-columns:10rem 1fr;gap:.3rem 1rem}dt{font-weight:600}
.critical{border-left:4px solid #b00020;padding-left:.6rem}.warning{border-left:4px solid #e09000;padding-left:.6rem}.info{border-left:4px solid #6a8;padding-left:.6rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.15rem .5rem;text-align:right}td:first-child{text-align:left}.hl{background:#ffe7a0}.warn{color:#8a4b00}`;

export function renderHtml(r: AnalysisReport): string {
  const e = escapeHtml;
  const s = r.summary;
  const loc = s.location;
  const h: string[] = [];
  h.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${e(s.headline)}</title><style>${CSS}</style></head><body>`);
  h.push(`<h1>${e(s.headline)}</h1><dl class="sum">`);
  h.push(`<dt>What</dt><dd>${s.panicMessage ? `<code>${e(s.panicMessage)}</code>` : 'no panic message'} — <code>${e(s.panicClass)}</code>${s.faultAddress ? `, address <code>${e(s.faultAddress)}</code>` : ''}</dd>`);
  h.push(`<dt>Where</dt><dd>${loc ? `<code>${e(loc.text)}</code>${loc.module ? ` [${e(loc.module)}]` : ''}${loc.file ? ` — <code>${e(`${loc.file}:${loc.line}`)}</code>` : ''}${loc.instruction ? ` — <code>${e(loc.instruction)}</code>` : ''}` : 'unknown'}</dd>`);
  h.push(`<dt>Why (probably)</dt><dd>${e(s.probableCause)}</dd>`);
  if (s.signature) h.push(`<dt>Signature</dt><dd><code>${e(s.signature.id)}</code> ${e(s.signature.text)}</dd>`);
  h.push(`<dt>Task</dt><dd>${s.task ? `<code>${e(s.task.command)}</code> (PID ${s.task.pid}) on CPU ${s.task.cpu ?? '?'}` : 'unknown'}</dd>`);
  h.push(`<dt>Kernel</dt><dd><code>${e(r.system.release ?? r.dump.release ?? '?')}</code> ${e(r.system.version ?? '')}</dd>`);
  h.push(`<dt>Analysis</dt><dd>crash ${e(r.crash.version ?? '?')} · vmlinux ${e(verificationLine(r.verification))}</dd></dl>`);
  for (const w of r.warnings) h.push(`<p class="warn">⚠ ${e(w)}</p>`);
  const chain = r.callChain ?? [];
  if (chain.length) h.push(`<h2>Call chain (bt -l)</h2><pre>${chain.map((c, i) => e(chainLine(c, i === r.faultIndex ? '> ' : i === r.callerIndex ? '^ ' : '  '))).join('\n')}</pre>`);
  if (r.source) h.push(snippet(e, `Source: ${r.source.file}:${r.source.line}`, r.source));
  const caller = r.callerIndex !== null && r.callerIndex !== undefined ? chain[r.callerIndex] : undefined;
  if (r.callerSource) h.push(snippet(e, `Caller: ${r.callerSource.file}:${r.callerSource.line}${caller ? ` (${caller.function})` : ''}`, r.callerSource));
  if (r.sourceNote) h.push(`<p class="warn">Sources: ${e(r.sourceNote)}</p>`);
  if (r.logVsBt) h.push(`<h2>The dump's own log beside bt</h2><p>${e(r.logVsBt.verdict)}.</p><pre class="logbt">${e(logVsBtLines(r.logVsBt).join('\n'))}</pre>`);
  h.push('<h2>Findings</h2>');
  for (const f of r.findings) {
    h.push(`<div class="${f.severity}"><h3>${e(f.severity.toUpperCase())}: ${e(f.title)}</h3><p>${e(f.detail)}</p>`);
    if (f.evidence.length) h.push(`<pre>${f.evidence.map((x) => e(`[${x.command}] ${x.line}`)).join('\n')}</pre>`);
    h.push('</div>');
  }
  if (r.backtrace && chain.length === 0) {
    const t = r.backtrace;
    h.push(`<h2>Backtrace (bt)</h2><pre>${e(`PID: ${t.pid}  CPU: ${t.cpu ?? '-'}  COMMAND: "${t.command}"`)}\n${t.frames.map((f) => e(` #${f.level} ${f.function}${f.module ? ` [${f.module}]` : ''}  ${f.address}`)).join('\n')}</pre>`);
  }
  if (r.memory) {
    h.push('<h2>Memory (kmem -i)</h2><table><tr><th></th><th>pages</th><th>size</th><th>%</th></tr>');
    for (const row of r.memory.rows) h.push(`<tr><td>${e(row.label)}</td><td>${row.pages}</td><td>${e(row.size)}</td><td>${row.percent !== null ? `${row.percent}% of ${e(row.of ?? '')}` : ''}</td></tr>`);
    h.push('</table>');
  }
  if (r.processes) h.push(`<h2>Processes (ps)</h2><p>${r.processes.total} tasks: ${e(Object.entries(r.processes.stateCounts).map(([k, v]) => `${k} ${v}`).join(', '))}</p>`);
  if (r.moduleDebug?.missing.length) h.push(`<h2>Modules without debug info</h2><ul>${r.moduleDebug.missing.map((m) => `<li><code>${e(m.name)}</code>: ${e(m.reason)}</li>`).join('')}</ul>`);
  h.push(`<h2>Kernel log (tail)</h2><pre>${e(r.logTail.slice(-40).join('\n'))}</pre>`);
  h.push(`<h2>Commands run</h2><ul>${r.commands.map((c) => `<li><code>${e(c.command)}</code> — ${c.lines} lines${c.error ? ` — ${e(c.error)}` : ''}</li>`).join('')}</ul>`);
  h.push(`<p><small>${e(`${r.schema} · ${r.generatedAt} · dump ${r.dump.path} · vmlinux ${r.vmlinux.path}`)}</small></p></body></html>`);
  return h.join('\n');
}
