// The demo's two-instance view in a real browser (Debian's chromium via playwright-core, as
// demo-page.test.ts): two demo API processes, each with its own L1, both seen dropping the key of
// one change; then the Redis-down button: the API keeps answering (DEGRADED, from Postgres) and
// recovers once Redis is back and the breaker closed. The Redis here is the test's own (it is
// stopped), Postgres and Kafka are the shared test stack's. Leaves a screenshot in test-results/.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumPath, startStack, type Stack } from '@evictd/infra';
import { startDemoUnderTest, type DemoUnderTest } from '../integration/demo-helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = chromiumPath();
const SCREENSHOT = join(ROOT, 'test-results', 'demo-instances.png');

let redisStack: Stack<'redis'> | undefined;
let demo: DemoUnderTest | undefined;
let browser: Browser | undefined;
let page: Page;
const pageErrors: string[] = [];

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  redisStack = await startStack({ services: ['redis'], handleSignals: false });
  demo = await startDemoUnderTest('demo_inst', 14, { secondInstance: true, redisControl: redisStack.redis, redisUrl: redisStack.env.REDIS_URL });
  assert.ok(demo.demo.peer, 'instance B runs');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 1400 } });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${demo.url}/`);
  await page.locator('#stream-state.live').waitFor({ timeout: 15_000 });
});

after(async () => {
  await browser?.close();
  await demo?.cleanup();
  await redisStack?.stop();
});

const text = async (selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();

test('one change: both instances drop the key from their own L1, with times on the page', async () => {
  // Both L1s receive invalidations before anything is read into them.
  for (const instance of ['A', 'B']) await page.locator(`#instance-rows tr[data-instance="${instance}"]`).filter({ hasText: 'tracking' }).first().waitFor({ timeout: 20_000 });
  // A value enters an L1 on its first Redis hit: the first load fills Redis through A (B reads a hit),
  // the next one puts it into A's L1 as well.
  const row = page.locator('tr[data-product-id="6"]');
  await row.locator('.pbadge').waitFor({ timeout: 15_000 });
  await page.getByRole('button', { name: 'Read all again' }).click();
  await row.locator('.pbadge', { hasText: 'B HIT L1' }).waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: 'Read all again' }).click();
  await row.locator('.badge.hit', { hasText: 'HIT L1' }).waitFor({ timeout: 10_000 });
  await row.click();

  await page.getByRole('button', { name: 'Change price as another app (direct SQL)' }).click();
  const drop = (instance: string) => page.locator(`#l1-log li[data-instance="${instance}"][data-key="product:6"][data-ms]`).first();
  await drop('A').waitFor({ timeout: 20_000 });
  await drop('B').waitFor({ timeout: 20_000 });
  const msA = Number(await drop('A').getAttribute('data-ms'));
  const msB = Number(await drop('B').getAttribute('data-ms'));
  for (const ms of [msA, msB]) assert.ok(ms >= 0 && ms < 10_000, `drop ${ms} ms after the commit`);
  // The same drops as steps of the change's timeline entry.
  const entry = page.locator('.entry[data-key="product:6"]').first();
  await entry.locator('.step[data-step="l1-A"]').waitFor();
  await entry.locator('.step[data-step="l1-B"]').waitFor();
  const invalidated = await entry.locator('.step[data-step="invalidated"] .ms').textContent();
  console.log(`product:6: Redis deletion ${invalidated}, L1 drop in A +${msA} ms, in B +${msB} ms after the commit`);
  // The page reads again through both instances: A misses (Redis was emptied), and the new price shows.
  await row.locator('.badge.miss').waitFor({ timeout: 20_000 });
  // No Varnish in front here: the page shows neither its timeline step nor its badges.
  assert.equal(await entry.locator('.step[data-step="varnish"]').count(), 0);
  assert.equal(await page.locator('.vbadge').count(), 0);
  assert.equal(await page.locator('#legend-varnish').isHidden(), true);
  assert.notEqual(await text('#instance-rows tr[data-instance="A"] td:nth-child(3)'), '');
  assert.match(await text('#instance-rows tr[data-instance="B"] td:nth-child(3)'), /^\d+ %$/);
  assert.deepEqual(pageErrors, []);
});

test('the Redis-down button: the API keeps answering from Postgres (DEGRADED), then recovers', async () => {
  // The button's answer reaches the page only after the outage's first steps came over the event
  // stream, as on a busy machine: the page must not lose those steps.
  await page.evaluate(() => {
    const seen: string[] = [];
    (globalThis as unknown as { outageSteps: string[] }).outageSteps = seen;
    new EventSource('/events').addEventListener('redis-outage', (e) => seen.push((JSON.parse((e as unknown as { data: string }).data) as { state: string }).state));
  });
  await page.route('**/demo/redis-outage*', async (route) => {
    const response = await route.fetch();
    await page.waitForFunction(() => (globalThis as unknown as { outageSteps: string[] }).outageSteps.includes('stopped'), undefined, { timeout: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the page's own stream has it too
    await route.fulfill({ response });
  });
  await page.getByRole('button', { name: 'Stop Redis for 5 s' }).click();
  await page.locator('#outage-status[data-state="degraded"]').waitFor({ timeout: 20_000 });
  await page.locator('#outage-log li[data-outcome="DEGRADED"][data-status="200"]').first().waitFor({ timeout: 20_000 });
  await page.locator('#instance-rows tr[data-instance="A"][data-breaker="open"]').waitFor({ timeout: 20_000 });
  await page.locator('#outage-status[data-state="recovered"]').waitFor({ timeout: 60_000 }).catch(async (err: unknown) => {
    // What the page showed instead: its status line, the instances and the latest reads.
    const shown = await Promise.all(['#outage-status', '#instance-rows', '#outage-log'].map((s) => page.locator(s).innerText()));
    throw new Error(`${(err as Error).message}\npage showed:\n${shown.map((t) => t.split('\n').slice(0, 12).join(' | ')).join('\n')}\npage errors: ${JSON.stringify([...new Set(pageErrors)])}`);
  });
  await page.locator('#instance-rows tr[data-instance="A"][data-breaker="closed"]').waitFor({ timeout: 10_000 });
  const status = await text('#outage-status');
  console.log(status);
  assert.match(status, /Recovered: .* breaker closed; [1-9]\d* reads answered from Postgres \(DEGRADED\) over \d+ ms, 0 errors\./);
  assert.equal(await page.locator('#outage-log li:not([data-status="200"])').count(), 0);
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`screenshot: ${relative(process.cwd(), SCREENSHOT)}`);
  assert.deepEqual(pageErrors, []);
});
