/**
 * The same three servers from Docker through testcontainers (EVICTD_STACK=testcontainers), for
 * machines with a Docker engine. Not run on the development machines (no Docker there): kept
 * small and type-checked. Fault-test restarts (start() after stop/kill) need the local stack.
 */
import { GenericContainer, type StartedTestContainer } from 'testcontainers';
import { brokerAnswers, ONE_NODE_SETTINGS } from './kafka.js';
import { freePorts } from './ports.js';
import { DATABASE, postgresAnswers } from './postgres.js';
import { redisAnswers } from './redis.js';
import type { ServerHandle, ServiceName } from './server.js';
import { ENV_NAMES, type Stack, type StackOptions } from './stack.js';
import { waitFor } from './wait.js';

const IMAGES = { postgres: 'postgres:15', redis: 'redis:7', kafka: 'apache/kafka:4.1.1' } as const;

interface ContainerService {
  name: ServiceName;
  /** Fixed host port: Kafka must advertise it before the container starts. */
  port: number;
  address: string;
  start(): Promise<StartedTestContainer>;
  probe(): Promise<boolean>;
}

function postgres(port: number): ContainerService {
  const settings = ['wal_level=logical', 'max_replication_slots=64', 'max_wal_senders=64', 'max_connections=200', 'fsync=off', 'full_page_writes=off'];
  const url = `postgres://postgres@127.0.0.1:${port}/${DATABASE}`;
  return {
    name: 'postgres',
    port,
    address: url,
    start: () =>
      new GenericContainer(IMAGES.postgres)
        .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: DATABASE })
        .withCommand(['postgres', ...settings.flatMap((s) => ['-c', s])])
        .withExposedPorts({ container: 5432, host: port })
        .start(),
    probe: () => postgresAnswers(url),
  };
}

function redis(port: number): ContainerService {
  const url = `redis://127.0.0.1:${port}`;
  return {
    name: 'redis',
    port,
    address: url,
    start: () =>
      new GenericContainer(IMAGES.redis)
        .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
        .withExposedPorts({ container: 6379, host: port })
        .start(),
    probe: () => redisAnswers(url),
  };
}

/** The image reads KAFKA_<SETTING> (dots as underscores); clients reach it on a fixed host port. */
function kafka(port: number): ContainerService {
  const settings = {
    ...ONE_NODE_SETTINGS,
    'controller.quorum.voters': '1@localhost:9093',
    listeners: 'PLAINTEXT://0.0.0.0:9092,CONTROLLER://localhost:9093',
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
  };
  const environment = Object.fromEntries(Object.entries(settings).map(([k, v]) => [`KAFKA_${k.toUpperCase().replaceAll('.', '_')}`, String(v)]));
  const broker = `127.0.0.1:${port}`;
  return {
    name: 'kafka',
    port,
    address: broker,
    start: () => new GenericContainer(IMAGES.kafka).withEnvironment(environment).withExposedPorts({ container: 9092, host: port }).start(),
    probe: () => brokerAnswers(broker),
  };
}

class ContainerHandle implements ServerHandle {
  running = true;
  readonly pid = undefined; // the server runs inside the container
  readonly logFile = '';
  readonly dataDir = '';
  constructor(
    readonly name: ServiceName,
    readonly port: number,
    private readonly container: StartedTestContainer,
  ) {}
  start(): Promise<void> {
    return Promise.reject(new Error(`restarting ${this.name} is supported by the local stack only (unset EVICTD_STACK)`));
  }
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.container.stop();
  }
  async kill(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.container.stop({ timeout: 0 });
  }
}

export async function startContainerStack<S extends ServiceName>(names: readonly S[], options: StackOptions<S>): Promise<Stack<S>> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const [pgPort, redisPort, kafkaPort] = await freePorts(3);
  const factories = { postgres: () => postgres(pgPort!), redis: () => redis(redisPort!), kafka: () => kafka(kafkaPort!) };
  const services = names.map((n) => factories[n]());
  const handles: ContainerHandle[] = [];
  const startMs: Partial<Record<ServiceName, number>> = {};
  const stop = async () => void (await Promise.allSettled(handles.map((h) => h.stop())));
  try {
    await Promise.all(
      services.map(async (s) => {
        const t0 = performance.now();
        const container = await s.start();
        handles.push(new ContainerHandle(s.name, s.port, container));
        await waitFor(s.probe, { timeoutMs: readyTimeoutMs, what: `${s.name} (${IMAGES[s.name]}) to answer`, intervalMs: 200 });
        startMs[s.name] = Math.round(performance.now() - t0);
      }),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const stack: Record<string, unknown> = {
    dir: '',
    env: Object.fromEntries(services.map((s) => [ENV_NAMES[s.name], s.address])),
    startMs,
    servers: handles,
    stop,
  };
  for (const h of handles) stack[h.name] = h;
  return stack as Stack<S>;
}
