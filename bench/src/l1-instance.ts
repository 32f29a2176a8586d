// One app instance with an L1 cache, driven over stdin by the l1 bench scenario (bench/src/l1.ts)
// and test/integration/cache-l1.test.ts:
//   prime <key> [tag]  -> reads the key until its L1 holds it, prints "primed <key>"
// and prints "drop <key> <epoch ms>" the moment an invalidation drops a key from its L1.
// It exits when stdin closes, so it cannot outlive the bench or test process.
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { createCache, createKeyRegistry, createRedisLayout } from '@evictd/cache';

const redis = new Redis(process.env.REDIS_URL!);
const now = () => performance.timeOrigin + performance.now();
const cache = createCache({
  redis,
  layout: createRedisLayout({ keyPrefix: process.env.L1_LAYOUT_PREFIX ?? '' }),
  registry: createKeyRegistry({}),
  l1: { maxEntries: 10_000, ttlMs: 60_000 },
  onEvent: (e) => {
    if (e.type === 'l1-drop') process.stdout.write(`drop ${e.key} ${now().toFixed(3)}\n`);
  },
});

async function prime(key: string, tag: string | undefined): Promise<void> {
  // First call fills (or hits), a later one reads through the tracked connection into L1.
  for (let i = 0; i < 200 && !cache.l1!.entries().some(([k]) => k === key); i++) {
    await cache.getOrLoad(key, () => `value of ${key}`, { tags: tag ? [tag] : [] });
  }
  if (!cache.l1!.entries().some(([k]) => k === key)) throw new Error(`${key} never entered L1`);
  process.stdout.write(`primed ${key}\n`);
}

let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [cmd, key, tag] = line.trim().split(/\s+/);
  if (cmd === 'prime' && key) queue = queue.then(() => prime(key, tag));
});
lines.on('close', () => {
  void queue.finally(async () => {
    await cache.close();
    redis.disconnect();
    process.exit(0);
  });
});
await cache.l1!.whenTracking(30_000);
process.stdout.write('ready\n');
