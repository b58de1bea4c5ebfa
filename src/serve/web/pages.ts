// The pages of `kdbg serve --reports`: the dumps table (filter by kernel, host and signature with a
// plain GET form; sort by the column links, or in place by the one inline script), the signatures
// view with a count-over-time chart per signature, and one dump's report with the pictures of
// report.html (analyze/report/). Everything is rendered here; every value goes through escapeHtml.
import { createHash } from 'node:crypto';
import type { AnalysisReport } from '../../analyze/index.js';
import { REPORT_CSS, reportSections } from '../../analyze/report/html.js';
import { escapeHtml as e } from '../../analyze/report/pictures.js';
import type { Oops } from '../../klog/oops-types.js';
import type { FirstLookReport } from '../../klog/report.js';
import { bucketCounts, countChart, timeAxis } from './chart.js';
import { SORT_KEYS, choices, selectRows, sortValue, type Fleet, type FleetRow, type SortKey, type TableQuery } from './fleet.js';

const SITE_CSS = `nav{display:flex;gap:1.2rem;align-items:baseline;border-bottom:1px solid #ccc;padding-bottom:.4rem;margin-bottom:1rem}nav b{font-size:1.1rem}nav a{color:#0b4f8a}
table.dumps{width:100%;border-collapse:collapse;font-size:13.5px}table.dumps th,table.dumps td{border-bottom:1px solid #e2e2e2;border-left:0;border-right:0;border-top:0;padding:.3rem .45rem;text-align:left;vertical-align:top}
table.dumps th{background:#f2f2f2;white-space:nowrap;position:sticky;top:0}table.dumps th a{color:#1b1b1b;text-decoration:none}table.dumps th a:hover{text-decoration:underline}
table.dumps tbody tr:nth-child(even){background:#fafafa}table.dumps td.t,table.dumps td.k{white-space:nowrap;font-family:ui-monospace,monospace;font-size:12.5px}table.dumps td.h{white-space:nowrap}table.dumps td.s{min-width:16rem}table.dumps td.hd{min-width:26rem}
.hl2{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden;overflow-wrap:anywhere}
.sigid{font-family:ui-monospace,monospace;font-size:12.5px;background:#eef3f8;border-radius:3px;padding:0 .3rem;color:#1f3f5f}.sigtext{display:block;color:#444;font-size:12.5px}
.st{font:600 11.5px system-ui,sans-serif;border-radius:3px;padding:1px 5px;background:#e6e6e6}.st.analyzed{background:#dcefe0}.st.failed{background:#ffd9dc}
form.filter{display:flex;gap:.8rem;flex-wrap:wrap;align-items:end;margin:.6rem 0 1rem}form.filter label{display:flex;flex-direction:column;font-size:12.5px;color:#444}form.filter select{max-width:22rem}
.count{color:#444}.chart{display:block}table.sigs td,table.sigs th{text-align:left;vertical-align:top}table.sigs small{color:#444;line-height:1.5}table.sigs td.n{text-align:right;font-weight:700;font-size:1.1rem}`;

/** Sorts the dumps table in place by a header's column (data-v of the cells); the links still sort server-side without it. */
const SORT_SCRIPT = `document.querySelectorAll('table.dumps th a[data-col]').forEach(function(a){a.addEventListener('click',function(ev){ev.preventDefault();var c=+a.dataset.col,tb=a.closest('table').tBodies[0],asc=a.dataset.asc!=='1';a.dataset.asc=asc?'1':'0';var rows=Array.prototype.slice.call(tb.rows);rows.sort(function(x,y){var p=x.cells[c].dataset.v,q=y.cells[c].dataset.v;return asc?p.localeCompare(q):q.localeCompare(p)});rows.forEach(function(r){tb.appendChild(r)})})});`;

/** The Content-Security-Policy of every page: nothing but inline styles, inline SVG and this one script. */
export const CSP = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-${createHash('sha256').update(SORT_SCRIPT).digest('base64')}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

function layout(title: string, body: string, script = false): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,"><title>${e(title)}</title><style>${REPORT_CSS}\n${SITE_CSS}</style></head><body>
<nav><b>kdbg</b><a href="/">Dumps</a><a href="/signatures">Signatures</a></nav>
${body}${script ? `<script>${SORT_SCRIPT}</script>` : ''}</body></html>`;
}

const when = (iso: string | null): string => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : '-');
const qs = (q: Partial<Record<string, string | null>>): string => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
};

function select(name: string, label: string, values: readonly string[], current: string | null, text: (v: string) => string = (v) => v): string {
  const opts = values.map((v) => `<option value="${e(v)}"${v === current ? ' selected' : ''}>${e(text(v))}</option>`).join('');
  return `<label>${e(label)}<select name="${name}"><option value="">all</option>${opts}</select></label>`;
}

const COLUMNS: { key: SortKey; title: string }[] = [
  { key: 'time', title: 'Crashed (UTC)' },
  { key: 'host', title: 'Host' },
  { key: 'kernel', title: 'Kernel' },
  { key: 'signature', title: 'Signature' },
  { key: 'status', title: 'Status' },
  { key: 'headline', title: 'Headline' },
];

export function dumpsPage(f: Fleet, q: TableQuery): string {
  const rows = selectRows(f.rows, q);
  const base = { kernel: q.kernel, host: q.host, signature: q.signature };
  const sigText = new Map(f.result.groups.map((g) => [g.id ?? '-', g.text]));
  const head = COLUMNS.map((c, i) => {
    const asc = c.key === q.sort ? !q.asc : c.key !== 'time';
    const mark = c.key === q.sort ? (q.asc ? ' ▲' : ' ▼') : '';
    return `<th><a href="/${qs({ ...base, sort: c.key, dir: asc ? 'asc' : 'desc' })}" data-col="${i}">${e(c.title)}${mark}</a></th>`;
  }).join('');
  const cell = (r: FleetRow, k: SortKey, html: string, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''} data-v="${e(sortValue(r, k))}">${html}</td>`;
  const body = rows
    .map(
      (r) =>
        `<tr data-id="${r.id}">` +
        cell(r, 'time', `<a href="/dump/${r.id}">${e(when(r.crashTime))}</a>`, 't') +
        cell(r, 'host', e(r.host ?? '-'), 'h') +
        cell(r, 'kernel', e(r.kernel ?? '-'), 'k') +
        cell(r, 'signature', r.signature ? `<a class="sigid" href="/${qs({ signature: r.signature.id })}">${e(r.signature.id)}</a><span class="sigtext">${e(r.signature.text)}</span>` : '-', 's') +
        cell(r, 'status', `<span class="st ${e(r.status)}">${e(r.status)}</span>`) +
        // Two lines at most (the whole headline is the link's title and the report page's h1): 200 rows stay scannable.
        cell(r, 'headline', `<a class="hl2" href="/dump/${r.id}" title="${e(r.headline ?? '')}">${e(r.headline ?? '-')}</a>`, 'hd') +
        '</tr>',
    )
    .join('\n');
  const form =
    `<form class="filter" method="get" action="/">` +
    select('kernel', 'Kernel', choices(f.rows, (r) => r.kernel), q.kernel) +
    select('host', 'Host', choices(f.rows, (r) => r.host), q.host) +
    select('signature', 'Signature', choices(f.rows, (r) => r.signature?.id ?? null), q.signature, (v) => `${v} ${sigText.get(v) ?? ''}`.slice(0, 90)) +
    `<input type="hidden" name="sort" value="${q.sort}"><input type="hidden" name="dir" value="${q.asc ? 'asc' : 'desc'}"><button type="submit">Filter</button>${q.kernel || q.host || q.signature ? ' <a href="/">clear</a>' : ''}</form>`;
  const warn = f.result.warnings.length ? `<details class="warn"><summary>${f.result.warnings.length} report file(s) skipped</summary><pre>${e(f.result.warnings.join('\n'))}</pre></details>` : '';
  const summary = `<p class="count" id="count">${rows.length} of ${f.rows.length} dump${f.rows.length === 1 ? '' : 's'}, ${f.result.groups.length} signature${f.result.groups.length === 1 ? '' : 's'} · <a href="/signatures">by signature</a></p>`;
  return layout('kdbg: dumps', `<h1>Dumps</h1>${summary}${form}${warn}<table class="dumps"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`, true);
}

export function signaturesPage(f: Fleet): string {
  const axis = timeAxis(f.rows.map((r) => r.crashTime));
  const rows = f.result.groups
    .map((g) => {
      const times = g.reports.map((i) => f.result.reports[i]!.crashTime);
      const chart = axis ? countChart(axis, bucketCounts(axis, times), `${g.count} dumps of ${g.id ?? 'no signature'} over time`) : '';
      const id = g.id ?? '-';
      return (
        `<tr data-signature="${e(id)}"><td class="n">${g.count}</td><td><a class="sigid" href="/${qs({ signature: id })}">${e(id)}</a><span class="sigtext">${e(g.text)}</span>` +
        `<small>first ${e(when(g.firstSeen))} · last ${e(when(g.lastSeen))}<br>hosts: ${e(g.hosts.join(', ') || '-')}<br>kernels: ${e(g.kernels.join(', ') || '-')}</small></td><td>${chart}</td></tr>`
      );
    })
    .join('\n');
  const total = axis ? `<p>All dumps per ${axis.unit}:</p>${countChart(axis, bucketCounts(axis, f.rows.map((r) => r.crashTime)), 'all dumps over time')}` : '';
  return layout('kdbg: signatures', `<h1>Signatures</h1><p class="count">${f.result.groups.length} signatures over ${f.rows.length} dumps; a signature is the panic class and the first meaningful frames (docs/hosts.md).</p>${total}<table class="sigs"><thead><tr><th>dumps</th><th>signature</th><th>over time</th></tr></thead><tbody>\n${rows}\n</tbody></table>`);
}

function traceItem(t: Oops['trace'][number]): string {
  if (t.type === 'marker') return `<li class="handler"><span class="place">${e(t.marker)}</span></li>`;
  const loc = t.type === 'exception' ? t.location : t;
  const fn = loc.function ?? loc.address ?? '?';
  const cls = t.type === 'exception' ? 'fault' : t.reliable ? 'frame' : 'handler';
  return `<li class="${cls}" data-function="${e(fn)}"><span class="fn">${t.type === 'frame' && !t.reliable ? '? ' : ''}${e(fn)}${loc.offset !== null ? `+0x${loc.offset.toString(16)}` : ''}</span>${loc.module ? ` <span class="mod">[${e(loc.module)}]</span>` : ''}${t.type === 'exception' ? '<span class="tag">exception RIP</span>' : ''}</li>`;
}

function firstLookSections(r: FirstLookReport): string {
  const f = r.firstLook;
  const h: string[] = [`<h1 id="headline">${e(f?.headline ?? 'no oops, panic, BUG, WARNING, lockup, hung task, OOM kill or MCE in the log')}</h1><dl class="sum">`];
  h.push(`<dt>Dump</dt><dd><code>${e(r.dump.path)}</code> (${e(r.dump.format)})</dd><dt>Kernel</dt><dd><code>${e(r.dump.release ?? '?')}</code></dd>`);
  if (f?.signature) h.push(`<dt>Signature</dt><dd id="signature" data-id="${e(f.signature.id)}"><code>${e(f.signature.id)}</code> ${e(f.signature.text)}</dd>`);
  h.push(`</dl><p>Read from the dump alone (no vmlinux, no crash): <code>kdbg analyze</code> without <code>--no-fetch</code> adds the call chain, memory and findings.</p>`);
  // The oops's own RIP/pc line first (where it faulted), then the Call Trace entries.
  const pc = f?.oops.pc ? traceItem({ type: 'exception', segment: f.oops.pc.segment, location: f.oops.pc }) : '';
  if (f) h.push(`<h2>Call trace (from the log)</h2><ol class="chain">${pc}${f.oops.trace.map(traceItem).join('')}</ol>`);
  h.push(`<h2>Kernel log (tail)</h2><pre id="log">${e(r.log.tail.slice(-60).join('\n'))}</pre>`);
  return h.join('\n');
}

/** One dump's page: the analysis with its pictures, a first look, or what the watch recorded. */
export function dumpPage(row: FleetRow, report: unknown, f: Fleet): string {
  const same = row.signature ? f.rows.filter((r) => r.signature?.id === row.signature!.id).length : 0;
  const nav = `<p><a href="/">← all dumps</a>${row.signature ? ` · <a href="/${qs({ signature: row.signature.id })}">${same} dump${same === 1 ? '' : 's'} with this signature</a>` : ''} · ${e(row.host ?? 'host unknown')} · crashed ${e(when(row.crashTime))} UTC · <code>${e(row.file)}</code></p>`;
  const schema = typeof report === 'object' && report !== null ? (report as { schema?: unknown }).schema : undefined;
  let body: string;
  if (schema === 'kdbg.analyze/v1') body = reportSections(report as AnalysisReport);
  else if (schema === 'kdbg.firstlook/v1') body = firstLookSections(report as FirstLookReport);
  else body = `<h1 id="headline">${e(row.headline ?? row.status)}</h1><p>Status <b>${e(row.status)}</b>; dump <code>${e(row.dump ?? '?')}</code>.</p>`;
  return layout(`kdbg: ${row.headline ?? row.id}`, nav + body);
}

export { SORT_KEYS };
