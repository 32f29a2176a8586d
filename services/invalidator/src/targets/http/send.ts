/**
 * One purge request over node:http(s) with a keep-alive agent, and what its outcome means:
 * 2xx confirmed; 408, 425, 429 and 5xx, timeouts and network errors retriable (Retry-After
 * honoured up to the backoff cap); any other status is a configuration problem (wrong
 * credentials, service id, VCL without the purge handling) that retrying cannot mend.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { EvictdError, isNetworkError } from '../../errors.js';
import type { PlannedRequest } from './plan.js';

export interface SendResult {
  readonly status: number;
  /** The first bytes of the body, for error messages. */
  readonly body: string;
  readonly retryAfterMs?: number;
}

export interface Sender {
  send(req: PlannedRequest, timeoutMs: number, signal: AbortSignal): Promise<SendResult>;
  close(): void;
}

export function createSender(concurrency: number): Sender {
  const http = new HttpAgent({ keepAlive: true, maxSockets: concurrency });
  const https = new HttpsAgent({ keepAlive: true, maxSockets: concurrency });
  return {
    async send(req, timeoutMs, signal) {
      try {
        return await once(req, timeoutMs, signal);
      } catch (err) {
        // A keep-alive socket the server closed as we reused it (Varnish closes after some synthetic
        // answers): the request never reached it, so resend once on a new connection.
        if ((err as { reusedSocket?: boolean }).reusedSocket && (err as { code?: string }).code === 'ECONNRESET' && !signal.aborted) return once(req, timeoutMs, signal);
        throw err;
      }
    },
    close() {
      http.destroy();
      https.destroy();
    },
  };

  function once(req: PlannedRequest, timeoutMs: number, signal: AbortSignal): Promise<SendResult> {
    const url = new URL(req.url);
    const secure = url.protocol === 'https:';
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) {
      headers['Content-Length'] = Buffer.byteLength(req.body);
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
    }
    return new Promise<SendResult>((resolve, reject) => {
      const r = (secure ? httpsRequest : httpRequest)(url, { method: req.method, headers, agent: secure ? https : http, signal, timeout: timeoutMs }, (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 2_000) body += chunk;
        });
        res.on('end', () => {
          clearTimeout(deadline);
          resolve({ status: res.statusCode ?? 0, body: body.slice(0, 500), ...retryAfter(res.headers['retry-after']) });
        });
        res.on('error', fail);
      });
      // Whole-request deadline (the socket timeout only covers idle gaps).
      const deadline = setTimeout(() => r.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
      function fail(err: Error) {
        clearTimeout(deadline);
        reject(Object.assign(err, { reusedSocket: r.reusedSocket }));
      }
      r.on('timeout', () => r.destroy(Object.assign(new Error(`socket idle for ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      r.on('error', fail);
      r.end(req.body);
    });
  }
}

function retryAfter(value: string | string[] | undefined): { retryAfterMs?: number } {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return {};
  const seconds = Number(v);
  if (Number.isFinite(seconds) && seconds >= 0) return { retryAfterMs: seconds * 1000 };
  const date = Date.parse(v);
  return Number.isNaN(date) ? {} : { retryAfterMs: Math.max(0, date - Date.now()) };
}

/** Whether a status is worth retrying. */
export function retriableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** The method and URL without query string or credentials: what logs and errors may show. */
export function describeRequest(req: PlannedRequest): string {
  try {
    const u = new URL(req.url);
    return `${req.method} ${u.origin}${u.pathname}`;
  } catch {
    return req.method;
  }
}

/** The error for a request that did not get a 2xx: retriable or not, never with header values. */
export function requestError(target: string, req: PlannedRequest, outcome: SendResult | unknown): EvictdError {
  const what = `target ${target}: ${req.op} purge ${describeRequest(req)}`;
  if (outcome && typeof outcome === 'object' && 'status' in outcome && typeof (outcome as SendResult).status === 'number') {
    const res = outcome as SendResult;
    const retriable = retriableStatus(res.status);
    const hint = retriable ? '' : res.status === 401 || res.status === 403 ? ' Check the credentials in the target\'s headers.' : ' Check the target\'s preset, params and request templates (and, for Varnish, that its VCL handles evictd\'s purge requests).';
    return new EvictdError('HTTP_PURGE_FAILED', `${what} answered ${res.status}${res.body ? `: ${oneLine(res.body)}` : ''}.${hint}`, {
      retriable,
      context: { target, op: req.op, status: res.status, ...(res.retryAfterMs === undefined ? {} : { retryAfterMs: res.retryAfterMs }) },
    });
  }
  // Transport failures (refused, reset, timeout, DNS, TLS) may all mend: the cache or the network comes back.
  const detail = outcome instanceof Error ? outcome.message : String(outcome);
  const code = (outcome as { code?: unknown } | null)?.code;
  return new EvictdError('HTTP_UNREACHABLE', `${what}: ${detail}`, { retriable: true, context: { target, op: req.op, network: isNetworkError(outcome), ...(typeof code === 'string' ? { code } : {}) }, cause: outcome });
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}
