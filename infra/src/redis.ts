import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { redisServerBinary } from './prerequisites.js';
import { ManagedServer, type LocalService } from './server.js';

/** Redis without persistence: a restart empties it, which is what the fault tests want to see. */
export function redisServer(root: string, port: number, readyTimeoutMs: number): LocalService {
  const command = redisServerBinary();
  const home = join(root, 'redis');
  const server = new ManagedServer({
    name: 'redis',
    port,
    logFile: join(home, 'redis.log'),
    dataDir: home,
    command,
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', home, '--daemonize', 'no', '--protected-mode', 'yes'],
    ports: [port],
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 10_000,
    readyTimeoutMs,
    probe: () => redisAnswers(`redis://127.0.0.1:${port}`),
  });
  return {
    server,
    address: `redis://127.0.0.1:${port}`,
    init: async () => {
      mkdirSync(home, { recursive: true });
      await server.start();
    },
  };
}

export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  client.on('error', () => {}); // reported through connect()/ping()
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } finally {
    client.disconnect();
  }
}
