/** Server-sent events: every open page gets the timeline snapshot, then each entry as it changes. */
import type { ServerResponse } from 'node:http';

export interface EventStream {
  /** Takes over a response: SSE headers, the initial events, then broadcasts until the client leaves. */
  attach(res: ServerResponse, initial: ReadonlyArray<{ event: string; data: unknown }>): void;
  broadcast(event: string, data: unknown): void;
  /** Ends every stream (server shutdown). */
  close(): void;
}

const HEARTBEAT_MS = 15_000;

export function createEventStream(): EventStream {
  const clients = new Set<ServerResponse>();
  const format = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  // Keeps proxies and browsers from timing out an idle stream.
  const heartbeat = setInterval(() => {
    for (const res of clients) res.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return {
    attach(res, initial) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
      if (res.req.method === 'HEAD') {
        res.end(); // headers only: no stream to keep open
        return;
      }
      res.write(`retry: 1000\n\n${initial.map((e) => format(e.event, e.data)).join('')}`);
      clients.add(res);
      res.on('close', () => clients.delete(res));
    },
    broadcast(event, data) {
      const message = format(event, data);
      for (const res of clients) res.write(message);
    },
    close() {
      clearInterval(heartbeat);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
