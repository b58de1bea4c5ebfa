// Counters for `kdbg serve`'s /metrics, in the Prometheus text exposition format (version 0.0.4).

export type RequestType = 'debuginfo' | 'executable' | 'source' | 'section' | 'metrics' | 'other';

export class ServeMetrics {
  private readonly requests = new Map<string, number>();
  private readonly bytes = new Map<RequestType, number>();
  private readonly startedAt = Date.now();
  inFlight = 0;

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

  render(extra: { entries: number }): string {
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
    lines.push('# HELP kdbg_serve_uptime_seconds Seconds since the server started.');
    lines.push('# TYPE kdbg_serve_uptime_seconds gauge');
    lines.push(`kdbg_serve_uptime_seconds ${Math.floor((Date.now() - this.startedAt) / 1000)}`);
    return lines.join('\n') + '\n';
  }
}
