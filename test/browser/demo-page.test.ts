// The demo page in a real browser (Debian's chromium, headless, driven by playwright-core; nothing
// is downloaded) on the full pipeline: click "another app", see evictd's invalidation in the
// timeline, then the MISS and the fresh price in the table. Leaves a screenshot in test-results/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDemoUnderTest, type DemoUnderTest } from '../integration/demo-helpers.js';
import { chromiumPath } from '@evictd/infra';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = chromiumPath();
const SCREENSHOT = join(ROOT, 'test-results', 'demo-page.png');

let demo: DemoUnderTest;
let browser: Browser;
const pageErrors: string[] = [];

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  demo = await startDemoUnderTest('demo_page', 12);
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
