// One self-contained HTML page (inline CSS and SVG, no scripts, no external resources) built from
// the same report model as the Markdown. The body (reportSections) is also the report page of
// `kdbg serve`, so the standalone file and the served page show the same pictures (pictures.ts).
import type { AnalysisReport } from '../index.js';
import { logVsBtLines, verificationLine } from './markdown.js';
import { PICTURE_CSS, callChainView, escapeHtml, findingsView, memoryBars, sourceView } from './pictures.js';

export { escapeHtml } from './pictures.js';

export const REPORT_CSS = `body{font:15px/1.45 system-ui,sans-serif;max-width:72rem;margin:1.5rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem;line-height:1.3;border-bottom:3px solid #b00020;padding-bottom:.3rem;word-break:break-word}h2{font-size:1.15rem;margin-top:1.8rem;border-bottom:1px solid #ddd}
pre{background:#f5f5f5;padding:.6rem;overflow-x:auto;font-size:13px}code{background:#f0f0f0;padding:0 .2rem;word-break:break-word}
dl.sum{display:grid;grid-template-columns:9rem 1fr;gap:.3rem 1rem}dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.15rem .5rem;text-align:right}td:first-child{text-align:left}.warn{color:#8a4b00}
${PICTURE_CSS}`;

export function reportSections(r: AnalysisReport): string {
  const e = escapeHtml;
  const s = r.summary;
  const loc = s.location;
  const h: string[] = [];
  h.push(`<h1 id="headline">${e(s.headline)}</h1><dl class="sum">`);
  h.push(`<dt>What</dt><dd>${s.panicMessage ? `<code>${e(s.panicMessage)}</code>` : 'no panic message'} — <code>${e(s.panicClass)}</code>${s.faultAddress ? `, address <code>${e(s.faultAddress)}</code>` : ''}</dd>`);
  h.push(`<dt>Where</dt><dd>${loc ? `<code>${e(loc.text)}</code>${loc.module ? ` [${e(loc.module)}]` : ''}${loc.file ? ` — <code>${e(`${loc.file}:${loc.line}`)}</code>` : ''}${loc.instruction ? ` — <code>${e(loc.instruction)}</code>` : ''}` : 'unknown'}</dd>`);
  h.push(`<dt>Why (probably)</dt><dd>${e(s.probableCause)}</dd>`);
  if (s.signature) h.push(`<dt>Signature</dt><dd id="signature" data-id="${e(s.signature.id)}"><code>${e(s.signature.id)}</code> ${e(s.signature.text)}</dd>`);
  h.push(`<dt>Task</dt><dd>${s.task ? `<code>${e(s.task.command)}</code> (PID ${s.task.pid}) on CPU ${s.task.cpu ?? '?'}` : 'unknown'}</dd>`);
  h.push(`<dt>Host</dt><dd>${e(r.system.nodename ?? '?')}${r.system.date ? ` · crashed ${e(r.system.date)}` : ''}</dd>`);
  h.push(`<dt>Kernel</dt><dd><code>${e(r.system.release ?? r.dump.release ?? '?')}</code> ${e(r.system.version ?? '')}</dd>`);
  h.push(`<dt>Analysis</dt><dd>crash ${e(r.crash.version ?? '?')} · vmlinux ${e(verificationLine(r.verification))}</dd></dl>`);
  for (const w of r.warnings) h.push(`<p class="warn">⚠ ${e(w)}</p>`);
  const chain = r.callChain ?? [];
  if (chain.length) {
    h.push('<h2>Call chain (<code>bt -l</code>)</h2>');
    h.push(callChainView({ chain, faultIndex: r.faultIndex, callerIndex: r.callerIndex, source: r.source, callerSource: r.callerSource, signatureFrames: s.signature?.frames ?? [] }));
  }
  if (r.source) h.push(sourceView(`Source at the fault: ${r.source.file}:${r.source.line}`, r.source));
  const caller = r.callerIndex !== null && r.callerIndex !== undefined ? chain[r.callerIndex] : undefined;
  if (r.callerSource) h.push(sourceView(`Caller: ${r.callerSource.file}:${r.callerSource.line}${caller ? ` (${caller.function})` : ''}`, r.callerSource));
  if (r.sourceNote) h.push(`<p class="warn">Sources: ${e(r.sourceNote)}</p>`);
  if (r.logVsBt) h.push(`<h2>The dump's own log beside bt</h2><p>${e(r.logVsBt.verdict)}.</p><pre class="logbt">${e(logVsBtLines(r.logVsBt).join('\n'))}</pre>`);
  h.push('<h2>Findings</h2>', findingsView(r.findings));
  if (r.backtrace && chain.length === 0) {
    const t = r.backtrace;
    h.push(`<h2>Backtrace (bt)</h2><pre>${e(`PID: ${t.pid}  CPU: ${t.cpu ?? '-'}  COMMAND: "${t.command}"`)}\n${t.frames.map((f) => e(` #${f.level} ${f.function}${f.module ? ` [${f.module}]` : ''}  ${f.address}`)).join('\n')}</pre>`);
  }
  if (r.memory) h.push('<h2>Memory and swap (<code>kmem -i</code>)</h2>', memoryBars(r.memory));
  if (r.processes) h.push(`<h2>Processes (ps)</h2><p>${r.processes.total} tasks: ${e(Object.entries(r.processes.stateCounts).map(([k, v]) => `${k} ${v}`).join(', '))}</p>`);
  if (r.moduleDebug?.missing.length) h.push(`<h2>Modules without debug info</h2><ul>${r.moduleDebug.missing.map((m) => `<li><code>${e(m.name)}</code>: ${e(m.reason)}</li>`).join('')}</ul>`);
  h.push(`<h2>Kernel log (tail)</h2><pre id="log">${e(r.logTail.slice(-40).join('\n'))}</pre>`);
  h.push(`<h2>Commands run</h2><ul>${r.commands.map((c) => `<li><code>${e(c.command)}</code> — ${c.lines} lines${c.error ? ` — ${e(c.error)}` : ''}</li>`).join('')}</ul>`);
  h.push(`<p><small>${e(`${r.schema} · ${r.generatedAt} · dump ${r.dump.path} · vmlinux ${r.vmlinux.path}`)}</small></p>`);
  return h.join('\n');
}

export function renderHtml(r: AnalysisReport): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(r.summary.headline)}</title><style>${REPORT_CSS}</style></head><body>\n${reportSections(r)}\n</body></html>`;
}
