// The demo page in a real browser (Debian's chromium, headless, driven by playwright-core; nothing
// is downloaded) on the full pipeline with the Varnish tier of `npm run demo` in front of the API:
// click "another app", see evictd's invalidation in the timeline, then the MISS and the fresh price
// in the table, and the product's page purged from Varnish. Leaves a screenshot in test-results/.
// (The page without a Varnish: demo-instances.test.ts.)
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { demoEnvironment } from '../integration/demo-helpers.js';
import { chromiumPath } from '@evictd/infra';
import { startDemo, type RunningDemo } from '../../services/demo-api/src/index.js';
import { startVarnishTier, type VarnishTier } from '../../services/demo-api/src/varnish-tier.js';
import { PROBE_HEADER, VARNISH_CACHE_HEADER } from '../../services/demo-api/src/timeline/varnish-probe.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = chromiumPath();
const SCREENSHOT = join(ROOT, 'test-results', 'demo-page.png');

let demo: { url: string; varnish: VarnishTier; cleanup(): Promise<void> };
let browser: Browser;
const pageErrors: string[] = [];

/** The demo as `npm run demo` runs it with varnishd installed: evictd purges a Varnish of its own in front of the API. */
async function startDemoWithVarnish(): Promise<typeof demo> {
  const isolated = await demoEnvironment('demo_page', 12);
  const dir = await mkdtemp(join(tmpdir(), 'evictd-demo-page-'));
  let varnish: VarnishTier | null = null;
  let running: RunningDemo | undefined;
  const cleanup = async () => {
    await running?.stop();
    await varnish?.stop();
    await rm(dir, { recursive: true, force: true });
    await isolated.cleanup();
  };
  try {
    varnish = await startVarnishTier(dir);
    if (!varnish) throw new Error('varnishd is not installed: apt-get install -y varnish varnish-modules (the setup of npm test installs them)');
    running = await startDemo({ env: { ...process.env, ...isolated.env }, varnish });
    if (!running.timelineReady) throw new Error('the demo API did not start reading change events (see its log above)');
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }
  return { url: running.api.url, varnish, cleanup };
}

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  demo = await startDemoWithVarnish();
  // playwright gives the browser a fresh temporary profile of its own.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await demo?.cleanup();
});

async function openPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${demo.url}/`);
  await page.locator('#stream-state.live').waitFor({ timeout: 15_000 });
  await page.locator('tr[data-product-id="6"] .badge').waitFor({ timeout: 15_000 });
  return page;
}

test('an edit through the API form is invalidated by evictd too and shows up in the table', async () => {
  const page = await openPage();
  await page.locator('tr[data-product-id="11"]').click();
  await page.locator('#edit-name').fill('Burr grinder (refurbished)');
  await page.locator('#edit-price').fill('59.00');
  await page.getByRole('button', { name: 'Save via API' }).click();
  await page.locator('#edit-status.ok').waitFor();

  const entry = page.locator('.entry[data-key="product:11"]').first();
  await entry.locator('.step[data-step="refilled"].done').waitFor({ timeout: 20_000 });
  assert.match((await entry.locator('.what').textContent()) ?? '', /name Burr grinder → Burr grinder \(refurbished\), price 89\.00 → 59\.00/);
  const row = page.locator('tr[data-product-id="11"]');
  assert.equal((await row.locator('.name').textContent())?.trim(), 'Burr grinder (refurbished)');
  assert.equal((await row.locator('.price').textContent())?.trim(), '€ 59.00');
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test('clicking "another app" shows the invalidation in the timeline, then the MISS and the fresh price', async () => {
  const page = await openPage();
  // Read everything again: now served from Redis.
  await page.getByRole('button', { name: 'Read all again' }).click();
  const row = page.locator('tr[data-product-id="6"]');
  await row.locator('.badge.hit').waitFor();
  await row.click();
  assert.equal(await page.locator('.another-app .selected-name').textContent(), 'Darjeeling 2nd flush');
  const oldPrice = (await row.locator('.price').textContent())?.trim();

  await page.getByRole('button', { name: 'Change price as another app (direct SQL)' }).click();
  const sql = page.locator('#another-app-sql');
  await sql.waitFor({ state: 'visible' });
  const newPrice = /now says (€ \d+\.\d\d)/.exec((await sql.textContent()) ?? '')?.[1];
  assert.ok(newPrice, `the page shows the price Postgres now holds: ${await sql.textContent()}`);
  assert.notEqual(newPrice, oldPrice);

  const entry = page.locator('.entry[data-key="product:6"]').first();
  await entry.locator('.step[data-step="invalidated"].done').waitFor({ timeout: 20_000 });
  assert.match((await entry.locator('.step[data-step="invalidated"]').textContent()) ?? '', /deleted product:6/);
  // The page reads the product again on its own: a MISS, then the value is cached again.
  await entry.locator('.step[data-step="refilled"].done').waitFor({ timeout: 20_000 });
  await page.locator('tr[data-product-id="6"] .badge.miss').waitFor();
  // Its category's list was deleted through the tag category:2 and read again too.
  await page.locator('tr[data-category-id="2"] .badge.miss').waitFor();
  assert.equal((await row.locator('.price').textContent())?.trim(), newPrice);
  assert.match((await page.locator('#headline').textContent()) ?? '', /product:6 invalidated \d+ ms after the commit/);

  const steps = await entry.locator('.step').evaluateAll((nodes) => nodes.map((n) => `${n.getAttribute('data-step')} ${n.querySelector('.ms')?.textContent ?? ''}`));
  console.log(`timeline (ms since commit): ${steps.join(', ')}`);

  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`screenshot: ${relative(process.cwd(), SCREENSHOT)}`);
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test('the Redis panel shows evictd\'s Redis INFO figures: memory used and the keyspace hit ratio', async () => {
  const page = await openPage();
  await page.locator('#redis-panel[data-state="ok"]').waitFor({ timeout: 20_000 });
  // The reads of the tests above hit Redis: a ratio above 0 once evictd's INFO sample (every 5 s) and
  // the instance's scrape of it (every 5 s) have seen them; the eviction rate from the second scrape on.
  await page.locator('#redis-hit-ratio', { hasText: /^[1-9]\d* %$/ }).waitFor({ timeout: 30_000 });
  await page.locator('#redis-evictions', { hasText: /^\d+(\.\d)? keys\/s$/ }).waitFor({ timeout: 15_000 });
  const used = Number(await page.locator('#redis-memory').getAttribute('data-bytes'));
  assert.ok(used > 0, `used memory ${used} B`);
  const shown = await page.locator('#redis-panel').innerText();
  assert.match(await page.locator('#redis-hit-ratio').innerText(), /^\d+ %$/);
  assert.match(await page.locator('#redis-memory').innerText(), /^\d+(\.\d)? (B|KiB|MiB|GiB) \/ /);
  console.log(`Redis panel: ${shown.split('\n').join(' | ')}; ${await page.locator('#redis-hit-ratio').getAttribute('title')}`);
  assert.deepEqual(pageErrors, []);
  await page.close();
});

test('with a Varnish in front: its cached page of the product is purged after a price change, and read through it again', async () => {
  const page = await openPage();
  const row = page.locator('tr[data-product-id="7"]');
  // The first load read every product through Varnish (a MISS each); read again: now Varnish HITs.
  await row.locator('.vbadge').waitFor({ timeout: 15_000 });
  await page.getByRole('button', { name: 'Read all again' }).click();
  await row.locator('.vbadge.hit').waitFor({ timeout: 15_000 });
  const lookup = async (path: string) => (await fetch(`${demo.varnish.url}${path}`, { headers: { [PROBE_HEADER]: 'lookup' } })).headers.get(VARNISH_CACHE_HEADER);
  assert.equal(await lookup('/products/7'), 'HIT', 'Varnish holds the page before the change');

  await row.click();
  await page.getByRole('button', { name: 'Change price as another app (direct SQL)' }).click();
  const newPrice = /now says € (\d+\.\d\d)/.exec((await page.locator('#another-app-sql', { hasText: 'now says' }).textContent()) ?? '')?.[1];
  assert.ok(newPrice);

  const entry = page.locator('.entry[data-key="product:7"]').first();
  const step = entry.locator('.step[data-step="varnish"]');
  // The probe watches for up to 30 s: a busy machine's edge group may lag.
  await entry.locator('.step[data-step="varnish"].done').waitFor({ timeout: 40_000 });
  // Purged while the probe watched it, or before its first lookup (evictd's edge group can be faster than the page's consumer).
  assert.match((await step.textContent()) ?? '', /Page purged.*Varnish.*\+\d+ ms.*(purged \/products\/7 \(|\/products\/7 not in Varnish at the first lookup)/);
  // Then the page reads it through Varnish again: fetched afresh, with the new price.
  await row.locator(`.vbadge.miss[data-price="${newPrice}"]`).waitFor({ timeout: 20_000 });
  assert.equal(await lookup('/products/7'), 'HIT', 'the fresh page is cached again');
  // Only what the change touched was purged: another category's product page stays cached.
  assert.equal(await lookup('/products/1'), 'HIT');
  assert.match((await page.locator('#headline').textContent()) ?? '', /product:7 invalidated \d+ ms after the commit, its page purged from Varnish after \d+ ms/);
  console.log(`Varnish step: ${(await step.textContent()) ?? ''}`);
  assert.deepEqual(pageErrors, []);
  await page.close();
});
