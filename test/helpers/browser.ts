// Debian's chromium driven by puppeteer-core (no browser download): a page that records every
// console error, page error and failed request, and aborts (and records) any request that is not
// to the kdbg server on 127.0.0.1 under test.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Git-ignored: the screenshots the browser tests leave for a person to look at. */
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'screenshots');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing (apt-get install chromium; .ci/run installs it)`);
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Chromium refuses to run its sandbox as root (CI containers).
  const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: [...args, '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
}

export interface GuardedPage {
  page: Page;
  /** console.error messages, uncaught page errors, failed requests. */
  errors: string[];
  /** Every request the page made (URLs). */
  requests: string[];
  /** Requests that would have left the server under test (aborted). */
  escaped: string[];
}

/** A page that may only talk to `origin` (http://127.0.0.1:PORT); everything else is aborted and recorded. */
export async function guardedPage(b: Browser, origin: string, opts: { javaScript?: boolean } = {}): Promise<GuardedPage> {
  const page = await b.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  await page.setJavaScriptEnabled(opts.javaScript ?? true);
  const g: GuardedPage = { page, errors: [], requests: [], escaped: [] };
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    const u = req.url();
    g.requests.push(u);
    const local = u.startsWith(`${origin}/`) || u === origin || u.startsWith('data:') || u === 'about:blank';
    if (!local) {
      g.escaped.push(u);
      void req.abort();
    } else void req.continue();
  });
  page.on('console', (m) => {
    if (m.type() === 'error') g.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (err) => g.errors.push(`pageerror: ${String(err)}`));
  page.on('requestfailed', (r) => {
    if (!g.escaped.includes(r.url())) g.errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  return g;
}
