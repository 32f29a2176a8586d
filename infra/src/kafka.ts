import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { runToCompletion } from './command.js';
import { javaBinary, mavenBinary, MissingPrerequisiteError } from './prerequisites.js';
import { ManagedServer, type LocalService } from './server.js';

/** infra/kafka: the pom and, after the first fetch, lib/ with the broker's jars. */
const KAFKA_HOME = fileURLToPath(new URL('../kafka/', import.meta.url));
const LIB = join(KAFKA_HOME, 'lib');

// A small heap and the serial collector: one broker for tests on a 2-core machine.
const JVM_OPTIONS = ['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-Djava.awt.headless=true', '-Dorg.slf4j.simpleLogger.showDateTime=true'];

/** Settings that make one combined broker+controller (KRaft) come up and serve groups quickly. */
export const ONE_NODE_SETTINGS: Readonly<Record<string, string | number>> = {
  'process.roles': 'broker,controller',
  'node.id': 1,
  'controller.listener.names': 'CONTROLLER',
  'inter.broker.listener.name': 'PLAINTEXT',
  'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
  'num.partitions': 1,
  'default.replication.factor': 1,
  'min.insync.replicas': 1,
  'auto.create.topics.enable': 'true',
  // Internal topics on one node: replication factor 1, few partitions (created on first use).
  'offsets.topic.replication.factor': 1,
  'offsets.topic.num.partitions': 10,
  'transaction.state.log.replication.factor': 1,
  'transaction.state.log.min.isr': 1,
  'transaction.state.log.num.partitions': 4,
  'share.coordinator.state.topic.replication.factor': 1,
  'share.coordinator.state.topic.min.isr': 1,
  // Groups start consuming at once instead of waiting for more members.
  'group.initial.rebalance.delay.ms': 0,
  // After a kill -9 the restarted broker may only register once the old incarnation's session
  // expired (DUPLICATE_BROKER_REGISTRATION): a short session makes restarts take seconds, not 10+.
  'broker.session.timeout.ms': 3000,
  'broker.heartbeat.interval.ms': 500,
  'num.network.threads': 2,
  'num.io.threads': 4,
  'background.threads': 4,
  'num.recovery.threads.per.data.dir': 1,
};

function serverProperties(brokerPort: number, controllerPort: number, logDir: string): string {
  const settings = {
    ...ONE_NODE_SETTINGS,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${brokerPort}`,
    'log.dirs': logDir,
  };
  return `# written by @evictd/infra\n${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}

/** Every artifact the pom names: a lib folder fetched before one was added to the pom fetches again. */
const POM_ARTIFACTS = ['kafka_2.13', 'connect-json', 'slf4j-simple'];
const hasBrokerJars = () => {
  if (!existsSync(LIB)) return false;
  const jars = readdirSync(LIB);
  return POM_ARTIFACTS.every((artifact) => jars.some((f) => f.startsWith(`${artifact}-`) && f.endsWith('.jar')));
};

/** Maven, when the broker's jars still have to be fetched (checked before anything starts). */
function mavenIfNeeded(): string | undefined {
  if (hasBrokerJars()) return undefined;
  try {
    return mavenBinary();
  } catch (err) {
    throw new MissingPrerequisiteError(`no Kafka jars in ${LIB} to run the broker, and ${(err as Error).message}`);
  }
}

/** Fetches the broker's jars into infra/kafka/lib (once; later starts find them there). */
async function fetchKafkaJars(mvn: string, logFile: string): Promise<void> {
  await runToCompletion({ what: 'fetching the Kafka jars', command: mvn, args: ['-q', '-B', '-f', join(KAFKA_HOME, 'pom.xml'), 'dependency:copy-dependencies'], logFile });
  if (!hasBrokerJars()) throw new Error(`mvn finished but ${LIB} lacks one of ${POM_ARTIFACTS.join(', ')}; see ${logFile}`);
}

/**
 * Fetches the broker's jars now if infra/kafka/lib has none (a fresh clone), saying so: the setup
 * step of `npm test` and `npm run demo`, before anything starts. Resolves false when they were there.
 */
export async function ensureKafkaJars(say: (message: string) => void, logDir: string): Promise<boolean> {
  if (hasBrokerJars()) return false;
  const logFile = join(logDir, 'kafka-jars.log');
  say(`fetching the Kafka broker jars with Maven into ${LIB} (first run only, about a minute; log ${logFile})...`);
  await fetchKafkaJars(mavenBinary(), logFile);
  return true;
}

/** The broker's jars still have to be fetched (so Maven is needed). */
export const needsKafkaJars = (): boolean => !hasBrokerJars();

/** KRaft cluster ids are 16 random bytes, base64url; one starting with '-' would read as a CLI flag. */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export function kafkaServer(root: string, brokerPort: number, controllerPort: number, readyTimeoutMs: number): LocalService {
  const java = javaBinary();
  const mvn = mavenIfNeeded();
  const home = join(root, 'kafka');
  const dataDir = join(home, 'data');
  const properties = join(home, 'server.properties');
  const logFile = join(home, 'kafka.log');
  const classpath = join(LIB, '*');

  const server = new ManagedServer({
    name: 'kafka',
    port: brokerPort,
    logFile,
    dataDir,
    command: java,
    args: [...JVM_OPTIONS, '-cp', classpath, 'kafka.Kafka', properties],
    ports: [brokerPort, controllerPort],
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 30_000,
    readyTimeoutMs,
    probe: () => brokerAnswers(`127.0.0.1:${brokerPort}`),
  });

  async function init(): Promise<void> {
    mkdirSync(home, { recursive: true });
    if (mvn) await fetchKafkaJars(mvn, logFile);
    if (!existsSync(join(dataDir, 'meta.properties'))) {
      writeFileSync(properties, serverProperties(brokerPort, controllerPort, dataDir));
      await runToCompletion({
        what: 'formatting the Kafka (KRaft) storage',
        command: java,
        args: ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', classpath, 'kafka.tools.StorageTool', 'format', '--cluster-id', clusterId(), '--config', properties],
        logFile,
      });
    }
    await server.start();
  }

  return { server, address: `127.0.0.1:${brokerPort}`, init };
}

/**
 * Ready = the broker answers metadata, has registered with the controller, and its group
 * coordinator answers (after a restart it loads __consumer_offsets first; on a fresh broker this
 * creates that topic, which the first consumer group would otherwise wait for).
 */
export async function brokerAnswers(broker: string): Promise<boolean> {
  const admin = new Kafka({ clientId: 'evictd-stack-probe', brokers: [broker], logLevel: logLevel.NOTHING, connectionTimeout: 1000, retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0 || cluster.controller === null) return false;
    await admin.describeGroups(['evictd-stack-probe']);
    return true;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
