/// <reference lib="dom" />
// (page.evaluate callbacks run in the page: they name window and document.)
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli, spawnCli } from '../helpers/cli.js';

// The dashboard in a real browser: Debian's chromium (never a downloaded one; .ci/run installs
// it) driven by playwright-core. `shopctl serve --consume` serves the built page; events go
// through Kafka (`buy --via kafka`, `stock count --via kafka`), the server projects them and
// streams them, and the page changes without a reload. Then a search, the theme, and the
// disconnected banner when the server stops (and that it goes when the server is back).

const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(repoRoot, 'test-artifacts');

const namespace = `dash-${randomBytes(3).toString('hex')}`;
const env = { SHOPCTL_NAMESPACE: namespace };
const servers: ChildProcessWithoutNullStreams[] = [];
let userDataDir = '';
let browser: BrowserContext | null = null;

interface Served {
  url: string;
  process: ChildProcessWithoutNullStreams;
  output: () => string;
}

async function serve(port = 0): Promise<Served> {
  const server = spawnCli(['serve', '--port', String(port), '--consume'], env);
  servers.push(server);
  let output = '';
  server.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 30 s:\n${output}`)), 30_000);
    server.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /serving (http:\/\/\S+)/.exec(output);
      // Ready to stream what it projects once its consumer joined.
      if (found?.[1] && /projecting Kafka events/.test(output)) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    server.once('exit', (code) => reject(new Error(`serve exited ${code}:\n${output}`)));
  });
  return { url, process: server, output: () => output };
}

async function stop(server: Served): Promise<void> {
  if (server.process.exitCode !== null) return;
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGTERM');
  await exited;
}

async function cli(...args: string[]): Promise<string> {
  const result = await runCli(args, env, { timeoutMs: 60_000 });
  expect(result.code, `shopctl ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

const text = (page: Page, selector: string): Promise<string> => page.locator(selector).innerText();

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the dashboard test drives Debian's chromium (never a downloaded browser). Install it with \`apt-get install -y chromium chromium-driver\` (.ci/run does).`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  userDataDir = mkdtempSync(path.join(tmpdir(), 'shopctl-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    viewport: { width: 1366, height: 900 },
    colorScheme: 'light',
  });
});

afterAll(async () => {
  await browser?.close();
  for (const server of servers) if (server.exitCode === null) server.kill('SIGTERM');
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe('the dashboard in a browser', () => {
  it('updates live from events through Kafka, searches a SKU, and says when the stream is gone', async () => {
    await cli('make', 'products', '--count', '8', '--seed', '5', '--via', 'db');
    await cli('make', 'customers', '--count', '20', '--seed', '5', '--via', 'db');
    const skus = [...(await cli('list', 'products', '--json')).matchAll(/"sku":\s*"(SKU-[A-Z0-9]+)"/g)].map((match) => match[1]!);
    expect(skus.length).toBe(8);
    // Two stores with a capacity and a place: the map draws them.
    await cli('stores', 'add', '--store', 'online', '--capacity', '20000', '--lat', '52.52', '--lon', '13.405', '--city', 'Berlin', '--via', 'db');
    await cli('stores', 'add', '--store', 'hamburg', '--capacity', '5000', '--lat', '53.55', '--lon', '9.99', '--city', 'Hamburg', '--via', 'db');
    const server = await serve();
    const page = browser!.pages()[0] ?? (await browser!.newPage());
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !/Failed to load resource|net::ERR_/.test(message.text())) problems.push(`console: ${message.text()}`);
    });
    // Nothing is fetched from elsewhere: every request goes to the server itself.
    const origins = new Set<string>();
    page.on('request', (request) => origins.add(new URL(request.url()).origin));

    await page.goto(server.url);
    await expect.poll(() => text(page, '#connection'), { timeout: 10_000 }).toBe('live');
    // Keyboard: the tab order starts with the skip link, then the search, its button, the theme.
    const focused: string[] = [];
    for (let step = 0; step < 4; step += 1) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className || document.activeElement?.tagName || ''));
    }
    expect(focused).toEqual(['skip', 'search', 'BUTTON', 'theme']);
    // and the focus is visible (an outline, not the browser's nothing).
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    await expect.poll(() => text(page, '#panel-top .body'), { timeout: 10_000 }).toMatch(/no sales/);
    // Every item has 1,000 units: none is under the low-stock threshold yet.
    await expect.poll(() => text(page, '#panel-low .body')).toContain('nothing low');
    await expect.poll(() => text(page, '#panel-freshness .body')).toContain('online');
    // The map: each store placed by its location, described for a screen reader.
    await expect.poll(() => page.locator('#panel-map [data-store]').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator('#panel-map [data-store=online]').getAttribute('aria-label')).toMatch(/^online \(Berlin\): [\d,]+ units on hand of 20,000/);
    // A marker a reload would wipe.
    await page.evaluate(() => Object.assign(window, { __noReload: true }));

    // Purchases and a stock count through Kafka; `serve --consume` projects and streams them.
    const sent = Date.now();
    await cli('buy', '--random', '--count', '300', '--via', 'kafka', '--seed', '7');
    await expect.poll(() => text(page, '#panel-top tbody'), { timeout: 20_000 }).toMatch(/SKU-/);
    const topSellersAfterMs = Date.now() - sent;
    await expect.poll(async () => Number((await text(page, '[data-testid=applied] ')).replace(/[^0-9]/g, '')), { timeout: 10_000 }).toBeGreaterThanOrEqual(300);
    await expect.poll(async () => Number((await text(page, '[data-testid=eps] b')).replace(/[^0-9.]/g, '')), { timeout: 10_000 }).toBeGreaterThan(0);
    // With --consume the lag is Kafka's answer, a number (caught up: 0).
    await expect.poll(() => text(page, '[data-testid=lag] b'), { timeout: 10_000 }).toMatch(/^\d[\d,]*$/);

    const out = skus[1]!;
    await cli('stock', 'count', '--sku', out, '--level', '0', '--via', 'kafka');
    await expect.poll(() => text(page, '#panel-alerts .body'), { timeout: 20_000 }).toContain(out);
    expect(await text(page, '#panel-alerts .body')).toMatch(/out/);
    // The lowest global quantity is now the item counted at 0.
    await expect.poll(async () => (await page.locator('#panel-low tbody tr').first().innerText()).includes(out), { timeout: 10_000 }).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    // The overview (docs/images/dashboard.png is a copy of it).
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // `/` focuses the search from anywhere, Enter shows the item.
    await page.locator('body').click({ position: { x: 5, y: 500 } });
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('search');
    await page.keyboard.type(out);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#panel-search').isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => text(page, '#panel-search .body'), { timeout: 10_000 }).toContain('Stock per store');
    const item = await text(page, '#panel-search .body');
    expect(item).toMatch(/online/);
    expect(item).toMatch(/History \(latest \d+ of \d+ changes\)/);
    expect(item).toMatch(/count/);
    expect(await text(page, '#h-search')).toContain(out);
    // A purchase of the item shown moves its panel too (restock it first, through Kafka).
    await cli('stock', 'receive', '--sku', out, '--quantity', '40', '--via', 'kafka');
    await expect.poll(() => text(page, '#panel-search .body'), { timeout: 20_000 }).toMatch(/\+40/);

    // Theme: `t` switches (auto -> dark), the page's colours follow.
    await page.locator('#panels').click({ position: { x: 2, y: 2 } });
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.keyboard.press('t');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe(light);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-dark.png') });
    await page.keyboard.press('t');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-search.png') });
    await page.keyboard.press('t'); // back to auto

    // The server stops: the page says so at once, and keeps trying.
    expect(await page.locator('#banner').isVisible()).toBe(false);
    const port = new URL(server.url).port;
    await stop(server);
    await expect.poll(() => page.locator('#banner').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await text(page, '#banner')).toMatch(/Disconnected from the live stream/);
    expect(await text(page, '#connection')).toBe('disconnected');
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-disconnected.png') });
    // Back on the same port: the page reconnects by itself, and the banner goes.
    const again = await serve(Number(port));
    await expect.poll(() => text(page, '#connection'), { timeout: 20_000 }).toBe('live');
    expect(await page.locator('#banner').isVisible()).toBe(false);
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    await stop(again);

    expect([...origins]).toEqual([new URL(server.url).origin]);
    expect(problems).toEqual([]);
    // How long the first purchases took to show (through Kafka, the consumer, MongoDB and the stream).
    expect(topSellersAfterMs).toBeLessThan(20_000);
  }, 180_000);
});
