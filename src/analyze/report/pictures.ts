// The pictures of a report, shared by the standalone report.html of `kdbg analyze` and the report
// page of `kdbg serve`: memory and swap bars from `kmem -i`, the call chain with the faulting frame
// and its caller marked (each with its source line), the source at the faulting line, and the
// findings with their evidence. Plain HTML and inline SVG, no scripts, no external resources;
// every value from the report goes through escapeHtml. The data-* attributes carry the numbers as
// crash printed them, so a test (or a script scraping the page) reads what the bars were drawn from.
import type { ChainEntry } from '../call-chain.js';
import type { KmemInfo, KmemRow } from '../parsers/kmem.js';
import type { SourceQuote } from '../index.js';
import { normalizeFunction } from '../signature.js';
import type { Finding } from '../triage-types.js';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
const e = escapeHtml;

export const PICTURE_CSS = `.bars{margin:.4rem 0 1rem}.bars svg{display:block;max-width:100%;height:auto}.bars text{font:13px system-ui,sans-serif;fill:#1b1b1b}.bars .num{font:12.5px ui-monospace,monospace}
.nobar{color:#555;font-style:italic}
ol.chain{list-style:none;padding:0;margin:.5rem 0;font:13.5px/1.35 ui-monospace,SFMono-Regular,Menlo,monospace}
ol.chain li{position:relative;display:flex;flex-wrap:wrap;align-items:baseline;gap:0 .3rem;margin:0 0 .25rem 1.4rem;padding:.2rem .6rem;border:1px solid #c9c9c9;border-radius:4px;background:#fafafa}
ol.chain li+li::before{content:"";position:absolute;left:-.9rem;top:-.35rem;height:.6rem;border-left:2px solid #9a9a9a}
ol.chain li::after{content:"";position:absolute;left:-1.05rem;top:.55rem;width:.5rem;height:.5rem;border-radius:50%;background:#9a9a9a}
ol.chain li.handler{opacity:.62;background:#f3f3f3}
ol.chain li.fault{border:2px solid #b00020;background:#fff1f2}ol.chain li.fault::after{background:#b00020}
ol.chain li.caller{border:2px solid #c77700;background:#fff8ec}ol.chain li.caller::after{background:#c77700}
.fn{font-weight:700}.mod{color:#6a3d9a}.lvl{color:#666;display:inline-block;min-width:2.2rem}.stack{color:#8a4b00;font-size:12.5px}.place{margin-left:auto;color:#333;font-size:12.5px;word-break:break-all}
.tag{font:600 11px system-ui,sans-serif;color:#fff;background:#b00020;border-radius:3px;padding:1px 5px;margin-left:.4rem;vertical-align:1px}.caller .tag{background:#c77700}.tag.sig{background:#37597a}
.srcline{display:block;flex-basis:100%;margin-top:.2rem;padding:.15rem .4rem;background:#fff;border-left:3px solid #b00020;white-space:pre-wrap}.caller .srcline{border-left-color:#c77700}
.chainnote{color:#555;font-size:13px;margin:.2rem 0}
pre.src{background:#f6f6f6;padding:.5rem 0;font:13px/1.4 ui-monospace,monospace;overflow-x:auto}pre.src span{display:block;padding:0 .6rem}pre.src .hl{background:#ffe1e4;border-left:4px solid #b00020;padding-left:calc(.6rem - 4px);font-weight:600}
.finding{margin:.8rem 0;padding:.2rem .8rem;border-left:5px solid #6a8}.finding.critical{border-color:#b00020}.finding.warning{border-color:#e09000}
.finding h3{margin:.3rem 0;font-size:1.02rem}.sev{font:700 11px system-ui,sans-serif;letter-spacing:.04em;padding:1px 6px;border-radius:3px;color:#fff;background:#6a8;margin-right:.4rem;vertical-align:2px}.critical .sev{background:#b00020}.warning .sev{background:#b86e00}
.evidence{background:#f6f6f6;padding:.4rem .6rem;font:12.5px/1.4 ui-monospace,monospace;overflow-x:auto;white-space:pre-wrap;word-break:break-word}.evidence b{color:#555;font-weight:600}`;

/** The `kmem -i` rows measured against one total (TOTAL MEM, TOTAL SWAP, COMMIT LIMIT). */
interface BarGroup {
  title: string;
  total: KmemRow;
  rows: KmemRow[];
}

function barGroups(k: KmemInfo): BarGroup[] {
  const groups: BarGroup[] = [];
  const add = (title: string, totalLabel: string, rows: KmemRow[]): void => {
    const total = k.byLabel[totalLabel];
    if (total && rows.length) groups.push({ title, total, rows });
  };
  add('Memory', 'TOTAL MEM', k.rows.filter((r) => r.of === 'TOTAL MEM'));
  add('Swap', 'TOTAL SWAP', k.rows.filter((r) => r.of === 'TOTAL SWAP'));
  // crash prints COMMITTED as a percentage of the limit; the limit row has no "of".
  const committed = k.byLabel['COMMITTED'];
  add('Commit', 'COMMIT LIMIT', committed ? [committed] : []);
  return groups;
}

const BAR_COLOURS: Record<string, string> = { FREE: '#4a9d5b', USED: '#c0392b', 'SWAP USED': '#c0392b', 'SWAP FREE': '#4a9d5b', COMMITTED: '#8e44ad' };

/** One SVG per group: a labelled bar per row, its length pages/total pages, the size and % crash printed beside it. */
export function memoryBars(k: KmemInfo | null): string {
  if (!k || k.rows.length === 0) return '<p class="nobar">No <code>kmem -i</code> output.</p>';
  const out: string[] = [];
  const W = 720;
  const LABEL = 130;
  const TRACK = 380;
  const ROW = 24;
  for (const g of barGroups(k)) {
    if (g.total.pages === 0) {
      out.push(`<div class="bars" data-group="${e(g.title)}"><p class="nobar">${e(g.title)}: ${e(g.total.label)} is 0 (${g.title === 'Swap' ? 'no swap configured' : 'none'}).</p></div>`);
      continue;
    }
    const h = ROW * (g.rows.length + 1) + 6;
    const svg: string[] = [`<svg viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="${e(`${g.title}: kmem -i rows against ${g.total.label}`)}">`];
    svg.push(`<text x="0" y="16" font-weight="700">${e(g.title)}</text><text class="num" x="${LABEL}" y="16">${e(`${g.total.label} ${g.total.size} (${g.total.pages} pages)`)}</text>`);
    g.rows.forEach((r, i) => {
      const y = ROW * (i + 1) + 4;
      const frac = r.pages / g.total.pages;
      const len = Math.max(frac > 0 ? 1.5 : 0, Math.min(1, frac) * TRACK);
      const colour = frac > 1 ? '#b00020' : (BAR_COLOURS[r.label] ?? '#5b7fa6');
      const pct = r.percent !== null ? `${r.percent}%` : `${Math.round(frac * 100)}%`;
      svg.push(
        `<g class="bar" data-label="${e(r.label)}" data-pages="${r.pages}" data-size="${e(r.size)}" data-percent="${r.percent ?? ''}" data-of="${e(g.total.label)}" data-total-pages="${g.total.pages}">` +
          `<title>${e(`${r.label}: ${r.pages} pages, ${r.size}, ${pct} of ${g.total.label}`)}</title>` +
          `<text x="0" y="${y + 13}">${e(r.label)}</text>` +
          `<rect x="${LABEL}" y="${y}" width="${TRACK}" height="16" fill="#ececec" rx="2"/>` +
          `<rect x="${LABEL}" y="${y}" width="${len.toFixed(1)}" height="16" fill="${colour}" rx="2"/>` +
          `<text class="num" x="${LABEL + TRACK + 10}" y="${y + 13}">${e(`${r.size} · ${pct}${frac > 1 ? ' (over the limit)' : ''}`)}</text></g>`,
      );
    });
    svg.push('</svg>');
    out.push(`<div class="bars" data-group="${e(g.title)}">${svg.join('')}</div>`);
  }
  return out.join('\n');
}

/**
 * A source path as a kernel engineer reads it: from the tree's top directory on, without the
 * build's prefix (`debian/build/build_amd64_none_amd64/`, `/build/reproducible-path/linux-6.1.x/`,
 * `/usr/src/debug/kernel-…/linux-…/`), which is the same on every frame and pushes the part that
 * differs off the box. A path with no such directory (an out-of-tree module's) is kept whole.
 */
export function shortSourcePath(p: string): string {
  const m = /(?:^|\/)((?:arch|block|certs|crypto|drivers|fs|include|init|io_uring|ipc|kernel|lib|mm|net|rust|security|sound|virt)\/.+)$/.exec(p);
  return m ? m[1]! : p;
}

/** Tabs to 8 columns from the start of the line (kernel style), so indentation survives a line-number gutter. */
export function expandTabs(line: string): string {
  let col = 0;
  let out = '';
  for (const ch of line) {
    if (ch === '\t') {
      const n = 8 - (col % 8);
      out += ' '.repeat(n);
      col += n;
    } else {
      out += ch;
      col++;
    }
  }
  return out;
}

/** The generic frames above the fault: panic and the exception path that led into it. */
const isHandlerSide = (i: number, fault: number | null): boolean => fault !== null && i < fault;

function quotedLine(q: SourceQuote | null, c: ChainEntry): string | null {
  if (!q || c.line !== q.line || c.file !== q.file) return null;
  const l = q.lines[q.line - q.first];
  return l === undefined ? null : l.trim();
}

/**
 * The call chain as boxes, innermost first as `bt` prints it (each frame was called by the one
 * below it). The frames above the fault (panic, the oops/exception path) are dimmed, the faulting
 * frame and its caller are outlined and carry their source line when the report quoted it, and
 * the frames the crash signature was made from are tagged.
 */
export function callChainView(o: {
  chain: readonly ChainEntry[];
  faultIndex: number | null;
  callerIndex: number | null;
  source: SourceQuote | null;
  callerSource: SourceQuote | null;
  signatureFrames?: readonly { function: string; module: string | null }[];
}): string {
  if (o.chain.length === 0) return '';
  // The signature's frames are normalised (`__handle_sysrq.cold` → `__handle_sysrq`): compare alike.
  const sigFns = new Set((o.signatureFrames ?? []).map((f) => f.function));
  const items = o.chain.map((c, i) => {
    const cls = i === o.faultIndex ? 'fault' : i === o.callerIndex ? 'caller' : isHandlerSide(i, o.faultIndex) ? 'handler' : 'frame';
    const what = c.kind === 'exception' ? `${e(c.function)}${c.offset !== null ? `+0x${c.offset.toString(16)}` : ''}` : e(c.function);
    const lvl = c.kind === 'exception' ? 'RIP' : `#${c.level ?? ''}`;
    const place = c.file !== null && c.line !== null ? `${shortSourcePath(c.file)}:${c.line}` : '(no line info)';
    const tags: string[] = [];
    if (cls === 'fault') tags.push('<span class="tag">faulting frame</span>');
    if (cls === 'caller') tags.push('<span class="tag">caller</span>');
    if (sigFns.has(normalizeFunction(c.function))) tags.push('<span class="tag sig" title="part of the crash signature">signature</span>');
    const line = cls === 'fault' ? quotedLine(o.source, c) : cls === 'caller' ? quotedLine(o.callerSource, c) : null;
    return (
      `<li class="${cls}" data-function="${e(c.function)}" data-kind="${c.kind}"${c.module ? ` data-module="${e(c.module)}"` : ''}>` +
      `<span class="lvl">${lvl}</span><span class="fn">${what}</span>${c.module ? ` <span class="mod">[${e(c.module)}]</span>` : ''}${tags.join('')}` +
      `${c.stack ? ` <span class="stack">(${e(c.stack)})</span>` : ''}<span class="place"${c.file !== null ? ` title="${e(c.file)}"` : ''}>${e(place)}</span>` +
      `${line !== null ? `<code class="srcline">${e(`${c.line}: ${line}`)}</code>` : ''}</li>`
    );
  });
  return `<p class="chainnote">Innermost first, as <code>bt -l</code> prints it: each frame was called by the one below. Dimmed: panic and the exception path above the fault.</p><ol class="chain">${items.join('')}</ol>`;
}

/** The quoted source with the faulting (or calling) line highlighted. */
export function sourceView(title: string, q: SourceQuote): string {
  const rows = q.lines.map((l, i) => {
    const n = q.first + i;
    return `<span${n === q.line ? ' class="hl"' : ''} data-line="${n}">${String(n).padStart(5)}  ${e(expandTabs(l))}</span>`;
  });
  return `<h2>${e(title)}</h2><pre class="src">${rows.join('')}</pre>`;
}

export function findingsView(findings: readonly Finding[]): string {
  if (findings.length === 0) return '<p>No findings.</p>';
  return findings
    .map(
      (f) =>
        `<div class="finding ${e(f.severity)}" data-id="${e(f.id)}"><h3><span class="sev">${e(f.severity.toUpperCase())}</span>${e(f.title)}</h3><p>${e(f.detail)}</p>` +
        (f.evidence.length ? `<div class="evidence">${f.evidence.map((x) => `<b>[${e(x.command)}]</b> ${e(x.line)}`).join('\n')}</div>` : '') +
        '</div>',
    )
    .join('\n');
}
