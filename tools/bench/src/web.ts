/**
 * Web benchmark, against a production build and a real stack in a fresh data dir:
 *  - first load of the overview in Chromium with a cold cache: JavaScript bytes transferred
 *    (CDP `Network.loadingFinished`, compressed as sent) and the time until the overview
 *    shows live data;
 *  - how long a sandbox state change takes to reach an open page: the control plane's
 *    `updatedAt` stamp of each state against the moment the page's row shows it (one clock).
 * Usage: node tools/bench/dist/web.js [--loads N] [--sandboxes N]
 */
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { io } from 'socket.io-client';
import { apiClient } from './api.client';
import { startBenchStack, type BenchStack } from './bench-stack';
import { formatMs, summarize } from './stats';
import { changeLatencies, type PageChange, type ServerChange } from './web-latency';

const ROOT = resolve(__dirname, '../../..');
const CHROMIUM = '/usr/bin/chromium';
const BUDGET = { jsBytes: 300 * 1024, loadMs: 1000, changeMs: 500 };

type Stack = BenchStack & { webUrl: string };

/** Opens a page already signed in as the operator (the session lives in sessionStorage). */
async function signedInPage(browser: Browser, stack: Stack): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const session = JSON.stringify({ token: stack.adminToken, role: 'admin' });
  await context.addInitScript((value) => window.sessionStorage.setItem('moat.session', value), session);
  return context.newPage();
}

interface LoadResult {
  jsBytes: number;
  /** Until the overview shows the fleet from the API. */
  dataMs: number;
  /** Until, in addition, the live connection is up. */
  readyMs: number;
  loadEventMs: number;
}

async function firstLoad(browser: Browser, stack: Stack): Promise<LoadResult> {
  const page = await signedInPage(browser, stack);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const scripts = new Set<string>();
  let jsBytes = 0;
  cdp.on('Network.responseReceived', (e) => {
    if (e.type === 'Script') scripts.add(e.requestId);
  });
  cdp.on('Network.loadingFinished', (e) => {
    if (scripts.has(e.requestId)) jsBytes += e.encodedDataLength;
  });
  await page.goto(`${stack.webUrl}/`, { waitUntil: 'commit' });
  await page.getByRole('region', { name: 'Fleet health' }).getByText('ready').waitFor();
  const dataMs = await page.evaluate(() => performance.now());
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  const readyMs = await page.evaluate(() => performance.now());
  await page.waitForLoadState('load');
  const loadEventMs = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
    return nav ? nav.loadEventEnd : Number.NaN;
  });
  await page.waitForLoadState('networkidle');
  await page.context().close();
  return { jsBytes, dataMs, readyMs, loadEventMs };
}

async function stateChangeLatencies(browser: Browser, stack: Stack, sandboxes: number): Promise<number[]> {
  const api = apiClient(stack.apiUrl, stack.adminToken);
  const server: ServerChange[] = [];
  const socket = io(`${stack.apiUrl}/ui`, { auth: { token: stack.adminToken }, transports: ['websocket'] });
  socket.on('sandbox:updated', (s: { id: string; state: string; updatedAt: string }) =>
    server.push({ id: s.id, state: s.state, at: Date.parse(s.updatedAt) }),
  );
  await new Promise<void>((r) => socket.once('connect', () => r()));

  const page = await signedInPage(browser, stack);
  await page.goto(`${stack.webUrl}/sandboxes`);
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  // Stamp every state a row shows, the moment the DOM changes.
  await page.evaluate(() => {
    const seen: { id: string; state: string; at: number }[] = [];
    (window as unknown as { __changes: typeof seen }).__changes = seen;
    const record = () => {
      for (const row of document.querySelectorAll<HTMLTableRowElement>('tr[data-sandbox-id]')) {
        const state = row.querySelector('.badge')?.textContent ?? '';
        const id = row.dataset.sandboxId ?? '';
        if (seen.findLast((c) => c.id === id)?.state !== state) seen.push({ id, state, at: Date.now() });
      }
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  });

  for (let i = 0; i < sandboxes; i++) {
    const { id } = await api.call<{ id: string }>('POST', '/v1/sandboxes', { vcpus: 1, memoryMiB: 256 }, 201);
    await page.locator(`tr[data-sandbox-id="${id}"]`).getByText('running').waitFor({ timeout: 240_000 });
    await api.call('DELETE', `/v1/sandboxes/${id}`, undefined, 202);
    await page.locator(`tr[data-sandbox-id="${id}"]`).waitFor({ state: 'detached', timeout: 240_000 });
  }
  const pageChanges = await page.evaluate(() => (window as unknown as { __changes: PageChange[] }).__changes);
  socket.disconnect();
  await page.context().close();
  return changeLatencies(server, pageChanges);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { loads: { type: 'string', default: '5' }, sandboxes: { type: 'string', default: '2' } },
  });
  const loads = Number(values.loads);
  const sandboxes = Number(values.sandboxes);
  const stack = (await startBenchStack(resolve(ROOT, process.env.MOAT_DATA_DIR ?? '.moat'), 'bench-web')) as Stack;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  try {
    console.log(`web benchmark: production build, Chromium ${browser.version()}, ${loads} cold loads, ${sandboxes} sandboxes`);
    // One load to let the server compile and cache its first render, as a deployed server would have.
    await firstLoad(browser, stack);
    const results = [];
    for (let i = 0; i < loads; i++) results.push(await firstLoad(browser, stack));
    const js = summarize(results.map((r) => r.jsBytes));
    const data = summarize(results.map((r) => r.dataMs));
    const ready = summarize(results.map((r) => r.readyMs));
    const loadEvent = summarize(results.map((r) => r.loadEventMs));
    const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
    const verdict = (ok: boolean) => (ok ? 'within budget' : 'OVER BUDGET');
    console.log(`overview JS transferred:        ${kb(js.p50)}  (budget ${kb(BUDGET.jsBytes)}: ${verdict(js.max <= BUDGET.jsBytes)})`);
    console.log(`overview load event:            p50 ${formatMs(loadEvent.p50)}  max ${formatMs(loadEvent.max)}`);
    console.log(`overview shows the fleet:       p50 ${formatMs(data.p50)}  max ${formatMs(data.max)}`);
    console.log(
      `overview ready with live data:  p50 ${formatMs(ready.p50)}  max ${formatMs(ready.max)}  (budget ${formatMs(BUDGET.loadMs)}: ${verdict(ready.p50 <= BUDGET.loadMs)})`,
    );
    const latencies = await stateChangeLatencies(browser, stack, sandboxes);
    const lat = summarize(latencies);
    console.log(
      `sandbox state change → page:    p50 ${formatMs(lat.p50)}  p95 ${formatMs(lat.p95)}  max ${formatMs(lat.max)}  over ${lat.n} changes  (budget ${formatMs(BUDGET.changeMs)}: ${verdict(lat.max <= BUDGET.changeMs)})`,
    );
  } finally {
    await browser.close();
    await stack.stop();
    rmSync(stack.dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
