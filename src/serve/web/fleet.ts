// The rows behind the web page: exactly what `kdbg reports` lists (pipeline/reports.ts) over the
// serve command's --reports directories, each row with a stable id for its page URL, plus the
// filtering and sorting of the dumps table. The listing is read when the server starts and kept;
// a request older than a few seconds after the last read triggers a new read in the background,
// so a page is rendered from memory and a watch writing new reports shows up a moment later.
import { createHash } from 'node:crypto';
import { listReports, type ReportRow, type ReportsResult } from '../../pipeline/reports.js';

export interface FleetRow extends ReportRow {
  /** First 16 hex digits of sha256(file): the page is /dump/<id>. */
  id: string;
}

export interface Fleet {
  result: ReportsResult;
  rows: FleetRow[];
  byId: Map<string, FleetRow>;
  /** When the listing was read (ms since the epoch) and how long it took. */
  readAt: number;
  readMs: number;
}

export const rowId = (file: string): string => createHash('sha256').update(file).digest('hex').slice(0, 16);

export class FleetSource {
  private cached: Fleet | null = null;
  private pending: Promise<Fleet> | null = null;

  constructor(
    private readonly dirs: readonly string[],
    private readonly maxAgeMs = 5000,
  ) {}

  /**
   * The listing: the cached one while a fresher one is read in the background once it is older
   * than maxAgeMs (a request never waits for a walk of the fleet, except the very first, or with
   * `fresh` for a dump page whose id the cached listing does not know yet).
   */
  async get(o: { fresh?: boolean } = {}): Promise<Fleet> {
    // `fresh` at most once a second: a stream of unknown ids does not become a stream of walks.
    if (this.cached && (!o.fresh || Date.now() - this.cached.readAt < 1000)) {
      if (Date.now() - this.cached.readAt >= this.maxAgeMs) void this.refresh().catch(() => undefined);
      return this.cached;
    }
    return this.refresh();
  }

  /** Starts (or joins) a read of the listing; concurrent callers share one walk. */
  refresh(): Promise<Fleet> {
    this.pending ??= this.read().finally(() => (this.pending = null));
    return this.pending;
  }

  private async read(): Promise<Fleet> {
    const began = performance.now();
    const result = await listReports({ dirs: this.dirs });
    // A failed dump of a watch state file has the state file as `file`: keep the ids apart by dump.
    const rows = result.reports.map((r) => ({ ...r, id: rowId(r.schema === 'kdbg.watch-state/1' ? `${r.file}#${r.dump ?? ''}` : r.file) }));
    const fleet = { result, rows, byId: new Map(rows.map((r) => [r.id, r])), readAt: Date.now(), readMs: performance.now() - began };
    this.cached = fleet;
    return fleet;
  }
}

export interface TableQuery {
  kernel: string | null;
  host: string | null;
  signature: string | null;
  sort: SortKey;
  /** true: ascending. */
  asc: boolean;
}

export const SORT_KEYS = ['time', 'host', 'kernel', 'signature', 'status', 'headline'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export function parseTableQuery(q: URLSearchParams): TableQuery {
  const pick = (k: string): string | null => {
    const v = q.get(k);
    return v === null || v === '' ? null : v;
  };
  const sort = (SORT_KEYS as readonly string[]).includes(q.get('sort') ?? '') ? (q.get('sort') as SortKey) : 'time';
  return { kernel: pick('kernel'), host: pick('host'), signature: pick('signature'), sort, asc: q.get('dir') === 'asc' };
}

/** The value a column sorts by; the same one the page's script reads from data-v. */
export function sortValue(r: FleetRow, k: SortKey): string {
  switch (k) {
    case 'time':
      return r.crashTime ?? '';
    case 'host':
      return r.host ?? '';
    case 'kernel':
      return r.kernel ?? '';
    case 'signature':
      return r.signature?.text ?? '';
    case 'status':
      return r.status;
    case 'headline':
      return r.headline ?? '';
  }
}

export function selectRows(rows: readonly FleetRow[], q: TableQuery): FleetRow[] {
  const out = rows.filter((r) => (q.kernel === null || r.kernel === q.kernel) && (q.host === null || r.host === q.host) && (q.signature === null || (r.signature?.id ?? '-') === q.signature));
  const dir = q.asc ? 1 : -1;
  return out.sort((a, b) => dir * sortValue(a, q.sort).localeCompare(sortValue(b, q.sort)) || (b.crashTime ?? '').localeCompare(a.crashTime ?? ''));
}

/** Distinct non-null values, sorted: the filter choices. */
export function choices(rows: readonly FleetRow[], f: (r: FleetRow) => string | null): string[] {
  return [...new Set(rows.map(f).filter((x): x is string => x !== null))].sort();
}
