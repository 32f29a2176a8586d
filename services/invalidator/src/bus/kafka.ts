/**
 * The kafkajs client for evictd: brokers, TLS and SASL from the config, and kafkajs' own logs
 * routed into pino (structured, at the matching level) instead of its console logger.
 */
import { connect as tcpConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Kafka, logLevel, type ISocketFactory, type KafkaConfig, type logCreator, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { EvictdConfig } from '../config/index.js';
import { EvictdError, describeError } from '../errors.js';

type KafkaSection = EvictdConfig['kafka'];

// kafkajs logs every failed connection attempt as an error; it retries them itself, and evictd
// reports what actually failed (a session, a start-up step), so they are warnings here.
const LEVELS: Record<number, 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'warn',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs warns at every producer start that bounded retries "may invalidate EoS guarantees".
 * evictd bounds them on purpose (KAFKA_RETRY) and does not rely on kafkajs' exactly-once: a batch
 * that fails for good restarts the publisher's session from the slot's confirmed position.
 */
const EXPECTED_WARNINGS = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

/** kafkajs logs through this; its INFO chatter (joins, rebalances) goes to debug, its errors and warnings to warn. */
export function pinoLogCreator(logger: Logger): logCreator {
  return () => ({ namespace, level, log }) => {
    const { message, ...extra } = log;
    const pinoLevel = EXPECTED_WARNINGS.has(message) ? 'debug' : (LEVELS[level] ?? 'debug');
    logger[pinoLevel === 'info' ? 'debug' : pinoLevel]({ kafkajs: namespace, ...extra }, message);
  };
}

/**
 * kafkajs' own sockets keep Nagle's algorithm on. With several requests on one connection (a
 * fetch and an offset commit, a produce and a metadata call) the second small write then waits for
 * the broker's delayed ACK, tens of milliseconds, which showed as commit -> deletion latency.
 */
export const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tlsConnect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : tcpConnect({ host, port }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

/**
 * kafkajs' retries for every client (connections, metadata, produce, admin). Its default doubles
 * the wait from 300 ms up to 30 s, so after an outage of a few seconds the next attempt came 7-13 s
 * after the broker was back (measured in the fault run); a failed attempt on a loopback or LAN
 * broker costs next to nothing, so evictd tries again at least twice a second.
 * 60 retries, about 30 s of trying, outlast a broker restart (8-16 s on a busy machine): when they
 * ran out (5 retries by default, 10 here at first), the consumer crashed and restarted as a new
 * group member, and the group then waited for the old member's session to expire before anyone
 * consumed (10 s more, measured); a producer's failed batch restarted the publisher's session.
 */
export const KAFKA_RETRY = { initialRetryTime: 100, maxRetryTime: 500, retries: 60 } as const;

export function kafkaClientConfig(kafka: KafkaSection, logger: Logger): KafkaConfig {
  const config: KafkaConfig = {
    clientId: kafka.clientId,
    brokers: [...kafka.brokers],
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(logger),
    socketFactory: noDelaySocketFactory,
    retry: { ...KAFKA_RETRY },
  };
  if (kafka.ssl === true) config.ssl = true;
  else if (kafka.ssl) config.ssl = { ca: kafka.ssl.ca, cert: kafka.ssl.cert, key: kafka.ssl.key, rejectUnauthorized: kafka.ssl.rejectUnauthorized };
  if (kafka.sasl) config.sasl = { mechanism: kafka.sasl.mechanism, username: kafka.sasl.username, password: kafka.sasl.password } as SASLOptions;
  return config;
}

/**
 * Start-up backoff of both roles while Kafka is not reachable yet (containers start in any order,
 * a replaced process starts while the broker restarts). Capped at 1 s: with a 15 s cap a role that
 * had waited half a minute went on waiting up to 15 s after the broker answered.
 */
export const KAFKA_STARTUP_BACKOFF = { minDelayMs: 250, maxDelayMs: 1_000 } as const;

export function createKafka(kafka: KafkaSection, logger: Logger): Kafka {
  return new Kafka(kafkaClientConfig(kafka, logger.child({ component: 'kafkajs' })));
}

/**
 * Whether kafkajs says waiting can help: its errors carry `retriable`; when its own retries ran out
 * (KafkaJSNumberOfRetriesExceeded, never retriable itself) the error that kept recurring decides.
 * Authentication, authorization and invalid requests are not retriable.
 */
export function isKafkaRetriable(err: unknown): boolean {
  for (let e = err as { retriable?: unknown; cause?: unknown; name?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.retriable === true) return true;
    if (e.name !== 'KafkaJSNumberOfRetriesExceeded') return false;
  }
  return false;
}

/**
 * An error of a running publish session as an EvictdError. The session's recovery is a new
 * session from the slot's confirmed position with a new producer, which is safe to repeat, so
 * everything but authentication, authorization and requests Kafka will always refuse is retried
 * (unlike start-up, which retries only what isKafkaRetriable says is transient).
 */
export function fromKafkaError(err: unknown, what: string): EvictdError {
  if (err instanceof EvictdError) return err;
  const e = err as { name?: string; type?: string };
  const fatal = /SASL|Authentication/i.test(e.name ?? '') || /AUTHORIZATION|TOO_LARGE|INVALID/.test(e.type ?? '');
  return new EvictdError(fatal ? 'KAFKA_ERROR' : 'KAFKA_UNAVAILABLE', `${what}: ${describeError(err)}`, { retriable: !fatal, cause: err, context: { kafkaError: e.name, type: e.type } });
}
