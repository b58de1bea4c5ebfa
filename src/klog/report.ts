// The report `kdbg analyze --no-fetch` writes from the dump alone: identity, the first look (the
// log's first oops/panic, parsed) and the log's tail, as JSON (schema kdbg.firstlook/v1), Markdown
// and HTML. Pure: data in, text out.

import type { RingLayout } from './keys.js';
import type { LogProblem } from './record.js';
import { formatOops } from './oops.js';
import type { Oops } from './oops.js';

export interface FirstLookReport {
  schema: 'kdbg.firstlook/v1';
  /** crashTime: the dump header's timestamp (identify's crashTime), ISO 8601, when it has one. */
  dump: { path: string; format: string; release: string | null; buildId: string | null; crashTime?: string | null };
  /** `signature`: the crash signature of the oops (set by pipeline/signature.ts; shape of analyze's summary.signature). */
  firstLook: { headline: string; oops: Oops; others: Oops[]; signature?: { id: string; text: string; class: string; frames: { function: string; module: string | null }[] } } | null;
  log: { layout: RingLayout | null; levelSource: 'inferred' | null; records: number; problems: LogProblem[]; tail: string[] };
  timings: { identifyMs: number; logMs: number };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The body lines shared by Markdown and HTML: details, then the call trace. */
function details(r: FirstLookReport): { facts: [string, string][]; oopsText: string | null } {
  const facts: [string, string][] = [
    ['dump', `${r.dump.path} (${r.dump.format})`],
    ['kernel', r.dump.release ?? 'unknown'],
    ['build-id', r.dump.buildId ?? 'none'],
    ['log', `${r.log.records} records, ${r.log.layout ?? 'no'} ring${r.log.problems.length ? `; ${r.log.problems.map((p) => p.message).join('; ')}` : ''}`],
  ];
  const o = r.firstLook?.oops;
  if (o) {
    if (r.firstLook!.signature) facts.push(['signature', `${r.firstLook!.signature.id} ${r.firstLook!.signature.text}`]);
    if (o.tainted) facts.push(['tainted', o.tainted.flags.length ? o.tainted.flags.map((f) => `${f.letter} (${f.meaning})`).join(', ') : 'not tainted']);
    if (r.firstLook!.others.length) facts.push(['later reports', r.firstLook!.others.map((x) => x.headline).join(' | ')]);
  }
  return { facts, oopsText: o ? formatOops(o) : null };
}

export function renderFirstLookMarkdown(r: FirstLookReport): string {
  const { facts, oopsText } = details(r);
  const out = [`# kdbg first look: ${r.dump.release ?? r.dump.path}`, '', `**${r.firstLook?.headline ?? 'no oops, panic, BUG, WARNING, lockup, hung task, OOM kill or MCE in the log'}**`, ''];
  for (const [k, v] of facts) out.push(`- ${k}: ${v}`);
  if (oopsText) out.push('', '## The report, parsed', '', '```', oopsText.trimEnd(), '```');
  out.push('', `## Log tail (last ${r.log.tail.length} lines)`, '', '```', ...r.log.tail, '```', '', 'Read from the dump alone (no vmlinux); `kdbg analyze` without `--no-fetch` adds crash\'s view.', '');
  return out.join('\n');
}

export function renderFirstLookHtml(r: FirstLookReport): string {
  const { facts, oopsText } = details(r);
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8">',
    `<title>kdbg first look: ${esc(r.dump.release ?? r.dump.path)}</title>`,
    '<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}pre{background:#f4f4f4;padding:1em;overflow-x:auto}</style>',
    '</head><body>',
    `<h1>kdbg first look: ${esc(r.dump.release ?? r.dump.path)}</h1>`,
    `<p><strong>${esc(r.firstLook?.headline ?? 'no oops, panic, BUG, WARNING, lockup, hung task, OOM kill or MCE in the log')}</strong></p>`,
    '<ul>',
    ...facts.map(([k, v]) => `<li>${esc(k)}: ${esc(v)}</li>`),
    '</ul>',
    ...(oopsText ? ['<h2>The report, parsed</h2>', `<pre>${esc(oopsText.trimEnd())}</pre>`] : []),
    `<h2>Log tail (last ${r.log.tail.length} lines)</h2>`,
    `<pre>${esc(r.log.tail.join('\n'))}</pre>`,
    '</body></html>',
    '',
  ].join('\n');
}
