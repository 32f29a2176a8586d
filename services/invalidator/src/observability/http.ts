import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthReport {
  ok: boolean;
  detail: Record<string, unknown>;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  registry: Registry;
  health: () => HealthReport;
}

export interface RunningHttpServer {
  url: string;
  close(): Promise<void>;
}

/** Serves /metrics (Prometheus text format) and /healthz (200 when healthy, 503 otherwise). */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/metrics') {
      options.registry
        .metrics()
        .then((body) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(body))
        .catch((err: unknown) => res.writeHead(500).end(String(err)));
      return;
    }
    if (path === '/healthz') {
      const report = options.health();
      res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
