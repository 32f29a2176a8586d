/** A small router over node:http: routes by method and path pattern, JSON in and out, errors as JSON. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error whose message is safe and useful to show the caller. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The pattern's capture groups, in order. */
  params: string[];
}

export interface Route {
  method: 'GET' | 'PUT' | 'POST';
  /** For metrics labels: /products/:id */
  name: string;
  pattern: RegExp;
  handle(ctx: RouteContext): Promise<void> | void;
}

export type Match = { route: Route; params: string[] } | { error: HttpError };

export function matchRoute(routes: readonly Route[], method: string, path: string): Match {
  const forPath = routes.filter((r) => r.pattern.test(path));
  if (forPath.length === 0) return { error: new HttpError(404, `no route for ${path}`) };
  // HEAD is GET without the body (node:http leaves the body out of HEAD responses).
  const route = forPath.find((r) => r.method === (method === 'HEAD' ? 'GET' : method));
  if (!route) {
    const allow = forPath.flatMap((r) => (r.method === 'GET' ? ['GET', 'HEAD'] : [r.method])).join(', ');
    return { error: new HttpError(405, `${method} is not allowed on ${path}: use ${allow}`, { allow }) };
  }
  return { route, params: (route.pattern.exec(path) ?? []).slice(1) };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

const MAX_BODY_BYTES = 16 * 1024;

/** The request body parsed as JSON; 400 (or 413 when too large) with the reason otherwise. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(400, `send the body as JSON with content-type: application/json (got ${JSON.stringify(type)})`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `body is not valid JSON: ${(err as Error).message}`);
  }
}
