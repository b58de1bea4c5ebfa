// Counters for `kdbg serve`'s /metrics, in the Prometheus text exposition format (version 0.0.4).

export type RequestType = 'debuginfo' | 'executable' | 'source' | 'section' | 'metrics' | 'other';

export interface MissMetrics {
  misses: number;
  fetches: number;
  fetchFailures: number;
  joined: number;
  negativeHits: number;
  bytesFetched: number;
  active: number;
  indexIds: number;
  indexBytes: number;
  indexRepos: number;
}

export class ServeMetrics {
  private readonly requests = new Map<string, number>();
  private readonly bytes = new Map<RequestType, number>();
  private readonly startedAt = Date.now();
  inFlight = 0;
  /** issue 20: answers straight from the cache, forwarded answers, misses refused by the rate limit. */
  hits = 0;
  forwarded = 0;
  rateLimited = 0;

  countRequest(type: RequestType, status: number): void {
    const k = `${type}\u0000${status}`;
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
  }

  countBytes(type: RequestType, n: number): void {
    this.bytes.set(type, (this.bytes.get(type) ?? 0) + n);
  }

  requestCount(type: RequestType, status: number): number {
    return this.requests.get(`${type}\u0000${status}`) ?? 0;
  }

  bytesServed(type: RequestType): number {
    return this.bytes.get(type) ?? 0;
  }

  render(extra: { entries: number; miss?: MissMetrics }): string {
    const lines: string[] = [];
    lines.push('# HELP kdbg_serve_requests_total HTTP requests answered, by debuginfod request type and status.');
    lines.push('# TYPE kdbg_serve_requests_total counter');
    for (const [k, v] of [...this.requests.entries()].sort()) {
      const [type, status] = k.split('\u0000');
      lines.push(`kdbg_serve_requests_total{type="${type}",status="${status}"} ${v}`);
    }
    lines.push('# HELP kdbg_serve_bytes_served_total Response body bytes written, by request type.');
    lines.push('# TYPE kdbg_serve_bytes_served_total counter');
    for (const [type, v] of [...this.bytes.entries()].sort()) lines.push(`kdbg_serve_bytes_served_total{type="${type}"} ${v}`);
    lines.push('# HELP kdbg_serve_requests_in_flight Requests being answered now.');
    lines.push('# TYPE kdbg_serve_requests_in_flight gauge');
    lines.push(`kdbg_serve_requests_in_flight ${this.inFlight}`);
    lines.push('# HELP kdbg_serve_cache_entries Release entries seen in the cache by the last scan.');
    lines.push('# TYPE kdbg_serve_cache_entries gauge');
    lines.push(`kdbg_serve_cache_entries ${extra.entries}`);
    lines.push('# HELP kdbg_serve_hits_total Build-id requests answered from the cache without a fetch.');
    lines.push('# TYPE kdbg_serve_hits_total counter');
    lines.push(`kdbg_serve_hits_total ${this.hits}`);
    lines.push('# HELP kdbg_serve_forwarded_total Requests answered by an upstream debuginfod server.');
    lines.push('# TYPE kdbg_serve_forwarded_total counter');
    lines.push(`kdbg_serve_forwarded_total ${this.forwarded}`);
    lines.push('# HELP kdbg_serve_rate_limited_total Misses refused (429) by the per-address rate limit.');
    lines.push('# TYPE kdbg_serve_rate_limited_total counter');
    lines.push(`kdbg_serve_rate_limited_total ${this.rateLimited}`);
    const m = extra.miss;
    if (m) {
      const c: [string, string, string, number][] = [
        ['kdbg_serve_misses_total', 'counter', 'Build-id requests for an id the cache did not hold.', m.misses],
        ['kdbg_serve_fetches_total', 'counter', 'Fetches started on a miss (one per id, however many clients asked).', m.fetches],
        ['kdbg_serve_fetch_failures_total', 'counter', 'Fetches on a miss that failed or published no file with the id.', m.fetchFailures],
        ['kdbg_serve_fetch_joined_total', 'counter', 'Misses that waited on a fetch another request had started.', m.joined],
        ['kdbg_serve_negative_hits_total', 'counter', 'Misses answered 404 from the negative cache.', m.negativeHits],
        ['kdbg_serve_fetched_bytes_total', 'counter', 'Bytes read from mirrors by fetches on a miss.', m.bytesFetched],
        ['kdbg_serve_fetches_active', 'gauge', 'Fetches running now.', m.active],
        ['kdbg_serve_index_ids', 'gauge', 'Build-ids in the repositories\' indexes.', m.indexIds],
        ['kdbg_serve_index_bytes', 'gauge', 'Bytes of build-id index records held.', m.indexBytes],
        ['kdbg_serve_index_repositories', 'gauge', 'Repositories with a build-id index.', m.indexRepos],
      ];
      for (const [name, type, help, v] of c) lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${v}`);
    }
    lines.push('# HELP kdbg_serve_uptime_seconds Seconds since the server started.');
    lines.push('# TYPE kdbg_serve_uptime_seconds gauge');
    lines.push(`kdbg_serve_uptime_seconds ${Math.floor((Date.now() - this.startedAt) / 1000)}`);
    return lines.join('\n') + '\n';
  }
}
