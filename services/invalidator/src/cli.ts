#!/usr/bin/env node
/**
 * The evictd command line: `evictd publish|invalidate|run|check-config --config FILE`.
 * Loads and validates the config once, starts the roles, serves /metrics and /healthz, and turns
 * SIGTERM/SIGINT into a clean stop (flush, acknowledge, commit) with exit code 0.
 */
import { parseArgs } from 'node:util';
import { loadConfig, type EvictdConfig } from './config/index.js';
import { checkConfigAgainstDatabase } from './rules/index.js';
import { start as startPublisher } from './roles/publish.js';
import { start as startInvalidator } from './roles/invalidate.js';
import { EvictdError, describeError } from './errors.js';
import { createLogger, type Logger } from './observability/log.js';
import { createRegistry } from './observability/metrics.js';
import { startHttpServer } from './observability/http.js';
import type { Role, StartRole } from './roles/role.js';

const USAGE = `usage: evictd <command> --config FILE

commands:
  publish        stream committed row changes from PostgreSQL to Kafka
  invalidate     consume change events and delete the mapped Redis keys and tags
  run            publish and invalidate in one process (small setups, the demo)
  check-config   validate the config and check the rules against the live database

options:
  --config FILE  the evictd YAML file (required)
  --help         show this text
`;

const ROLES: Record<string, StartRole> = { publish: startPublisher, invalidate: startInvalidator };

const ROLE_COMMANDS: Record<string, readonly string[]> = {
  publish: ['publish'],
  invalidate: ['invalidate'],
  run: ['publish', 'invalidate'],
};


export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (!(command in ROLE_COMMANDS) && command !== 'check-config') {
    process.stderr.write(`evictd: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  if (!values.config) {
    process.stderr.write(`evictd ${command}: --config FILE is required\n`);
    return 2;
  }
  let config: EvictdConfig;
  try {
    config = await loadConfig(values.config);
  } catch (err) {
    process.stderr.write(`evictd: ${describeError(err)}\n`);
    return 2;
  }
  const logger = createLogger('evictd', config.log.level);
  if (command === 'check-config') return checkConfig(config);
  return runRoles(command, ROLE_COMMANDS[command] ?? [], config, logger);
}

async function checkConfig(config: EvictdConfig): Promise<number> {
  const problems = await checkConfigAgainstDatabase(config);
  if (problems.length === 0) {
    process.stdout.write(`${config.file}: OK (${Object.keys(config.tables).length} tables checked against the database)\n`);
    return 0;
  }
  process.stderr.write(`${config.file}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p.path || '(file)'}: ${p.message}`).join('\n')}\n`);
  return 1;
}

async function runRoles(command: string, roleNames: readonly string[], config: EvictdConfig, logger: Logger): Promise<number> {
  const registry = createRegistry({ service: 'evictd', command });
  const controller = new AbortController();
  const roles: Role[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      controller.abort();
      // Stop in reverse start order: the invalidator finishes its batch while the publisher still flushes.
      for (const role of [...roles].reverse()) {
        await role.stop().catch((err: unknown) => logger.error({ err, role: role.name }, 'role did not stop cleanly'));
      }
    })();
    return stopping;
  };

  let exitCode = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'stopping');
    void stopAll();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    for (const name of roleNames) {
      const start = ROLES[name];
      if (!start) throw new Error(`no role named ${name}`);
      roles.push(await start({ config, logger: logger.child({ role: name }), registry, signal: controller.signal }));
    }
  } catch (err) {
    await stopAll();
    if (controller.signal.aborted) {
      // Asked to stop while still waiting for a server: not a failure.
      logger.info({ reason: describeError(err) }, 'stopped before start-up completed');
      return 0;
    }
    logger.fatal({ err }, `cannot start: ${describeError(err)}`);
    return err instanceof EvictdError && err.code.startsWith('CONFIG') ? 2 : 1;
  }

  const http = await startHttpServer({
    host: config.http.host,
    port: config.http.port,
    registry,
    health: () => {
      const reports = roles.map((role) => ({ role: role.name, ...role.health() }));
      return { ok: !stopping && reports.every((r) => r.ok), detail: { roles: reports } };
    },
  });
  logger.info({ command, roles: roleNames, http: http.url }, 'evictd running');

  // Whichever comes first: a signal-driven stop, or a role ending by itself (fatal error or not).
  await Promise.race([
    new Promise<void>((resolve) => controller.signal.addEventListener('abort', () => resolve(), { once: true })),
    ...roles.map((role) =>
      role.done.then(
        () => logger.info({ role: role.name }, 'role ended'),
        (err: unknown) => {
          exitCode = 1;
          logger.fatal({ err, role: role.name }, `role failed: ${describeError(err)}`);
        },
      ),
    ),
  ]);
  await stopAll();
  await http.close();
  logger.info({ exitCode }, 'evictd stopped');
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`evictd: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
