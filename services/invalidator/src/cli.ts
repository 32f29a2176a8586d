#!/usr/bin/env node
/**
 * The evictd command line: `evictd publish|invalidate|run|check-config|registry --config FILE`.
 * Loads and validates the config once, starts the roles, serves /metrics and /healthz, and turns
 * SIGTERM/SIGINT into a clean stop (flush, acknowledge, commit) with exit code 0.
 */
import { parseArgs } from 'node:util';
import { loadConfig, type EvictdConfig } from './config/index.js';
import { keyRegistryDocument } from '@evictd/schemas';
import { compileRules, inspectRulesAgainstDatabase } from './rules/index.js';
import { checkPublisherSetup, start as startPublisher } from './roles/publish.js';
import { start as startInvalidator } from './roles/invalidate.js';
import { targetProblems } from './targets/index.js';
import { EvictdError, describeError } from './errors.js';
import { createLogger, type Logger } from './observability/log.js';
import { createRegistry } from './observability/metrics.js';
import { startHttpServer, type RunningHttpServer } from './observability/http.js';
import { Readiness } from './observability/readiness.js';
import type { Role, StartRole } from './roles/role.js';

const USAGE = `usage: evictd <command> --config FILE

commands:
  publish        stream committed row changes from PostgreSQL to Kafka
  invalidate     consume change events and delete the mapped Redis keys and tags
  run            publish and invalidate in one process (small setups, the demo)
  check-config   validate the config and check the rules against the live database
  registry       print the rules' key registry as JSON, for apps' @evictd/cache
                 (loadKeyRegistry) when they cannot read this file

options:
  --config FILE  the evictd YAML file (required)
  --role ROLE    check-config only: check what "publish", "invalidate" or "run" (default: run,
                 both) needs at start
  --help         show this text

exit codes: 0 stopped by SIGTERM/SIGINT (or check-config found nothing wrong), 1 start-up refused
by a server or a role failed (check-config: problems listed), 2 bad command line, config or rules
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
    options: { config: { type: 'string', short: 'c' }, role: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const command = positionals[0];
  if (values.help || command === undefined) {
    process.stdout.write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (!(command in ROLE_COMMANDS) && command !== 'check-config' && command !== 'registry') {
    process.stderr.write(`evictd: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  const checkedRole = values.role ?? 'run';
  if (values.role !== undefined && (command !== 'check-config' || !(checkedRole in ROLE_COMMANDS))) {
    process.stderr.write(`evictd ${command}: --role is for check-config and must be publish, invalidate or run (got "${checkedRole}")\n`);
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
  if (command === 'registry') return printRegistry(config);
  const logger = createLogger('evictd', config.log.level);
  if (command === 'check-config') return checkConfig(config, ROLE_COMMANDS[checkedRole] ?? []);
  return runRoles(command, ROLE_COMMANDS[command] ?? [], config, logger);
}

/** Refuses whatever the roles' start-up would refuse, with the same messages, and changes nothing. */
async function checkConfig(config: EvictdConfig, roleNames: readonly string[]): Promise<number> {
  // The targets' own checks need no server: first, so they show even while the database is away.
  const targets = roleNames.includes('invalidate') ? targetProblems(config) : [];
  if (targets.length > 0) {
    process.stderr.write(`${config.file}: evictd invalidate would not start:\n${targets.map((t) => `  - ${t}`).join('\n')}\n`);
    return 1;
  }
  const { problems, warnings } = await inspectRulesAgainstDatabase(config);
  if (warnings.length > 0) process.stderr.write(`${config.file}: ${warnings.length} warning(s):\n${warnings.map((w) => `  - ${w.path}: ${w.message}`).join('\n')}\n`);
  if (problems.length > 0) {
    process.stderr.write(`${config.file}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p.path || '(file)'}: ${p.message}`).join('\n')}\n`);
    return 1;
  }
  if (roleNames.includes('publish')) {
    try {
      await checkPublisherSetup(config);
    } catch (err) {
      process.stderr.write(`${config.file}: evictd publish would not start: ${describeError(err)}\n`);
      return 1;
    }
  }
  process.stdout.write(`${config.file}: OK (${Object.keys(config.tables).length} tables checked against the database)\n`);
  return 0;
}

/** The registry is the rules' templates: compiled first, so a bad template fails here as at start. */
function printRegistry(config: EvictdConfig): number {
  try {
    compileRules(config.tables, config.file);
  } catch (err) {
    process.stderr.write(`evictd: ${describeError(err)}\n`);
    return 2;
  }
  process.stdout.write(`${JSON.stringify(keyRegistryDocument(config.tables), null, 2)}\n`);
  return 0;
}

/** 2 for what the operator must fix in the command line, config or rules; 1 for everything else. */
export function exitCodeFor(err: unknown): number {
  return err instanceof EvictdError && err.code.startsWith('CONFIG') ? 2 : 1;
}

async function runRoles(command: string, roleNames: readonly string[], config: EvictdConfig, logger: Logger): Promise<number> {
  const registry = createRegistry({ service: 'evictd', command });
  const controller = new AbortController();
  const readiness = new Readiness(roleNames);
  const roles: Role[] = [];
  // Only a signal makes a stop clean (exit 0); a start-up that fails or gives up is a failure.
  let signalled: NodeJS.Signals | null = null;
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    readiness.stopping();
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
    signalled ??= signal;
    logger.info({ signal }, 'stopping');
    void stopAll();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  // /healthz and /metrics answer from the first second: 503 with the reason while start-up waits.
  let http: RunningHttpServer;
  try {
    http = await startHttpServer({ host: config.http.host, port: config.http.port, registry, health: () => readiness.report() });
  } catch (err) {
    logger.fatal({ err }, `cannot start: cannot listen on ${config.http.host}:${config.http.port} (http.host, http.port): ${describeError(err)}; set http.port to a free port (0 picks any) or stop what holds it`);
    return 1;
  }
  logger.info({ command, roles: roleNames, http: http.url }, 'evictd starting: /healthz answers 503 until every role is ready');

  try {
    for (const name of roleNames) {
      if (controller.signal.aborted) break;
      const start = ROLES[name];
      if (!start) throw new Error(`no role named ${name}`);
      const role = await start({ config, logger: logger.child({ role: name }), registry, signal: controller.signal, startup: readiness.starting(name) });
      roles.push(role);
      readiness.running(role);
      if (stopping) {
        // The signal came while this role was starting: stopAll() has already gone past it.
        await role.stop().catch((err: unknown) => logger.error({ err, role: name }, 'role did not stop cleanly'));
        break;
      }
    }
  } catch (err) {
    await stopAll();
    await http.close();
    if (signalled) {
      logger.info({ signal: signalled, reason: describeError(err) }, 'stopped before start-up completed');
      return 0;
    }
    const code = exitCodeFor(err);
    logger.fatal({ err, exitCode: code }, `cannot start: ${describeError(err)}`);
    return code;
  }
  if (!signalled) logger.info({ command, roles: roleNames, http: http.url }, 'evictd running');

  // Whichever comes first: a signal-driven stop, or a role ending by itself (fatal error or not).
  await Promise.race([
    new Promise<void>((resolve) => (controller.signal.aborted ? resolve() : controller.signal.addEventListener('abort', () => resolve(), { once: true }))),
    ...roles.map((role) =>
      role.done.then(
        () => {
          // A role that ends without being asked to has stopped doing its job.
          if (!signalled) exitCode = 1;
          logger[signalled ? 'info' : 'error']({ role: role.name }, 'role ended');
        },
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
    // Everything evictd opened is closed by now: what still holds the event loop is a leak (one
    // kept a stopped invalidator alive in CI). Say what it is, and exit with the code anyway.
    setTimeout(() => {
      process.stderr.write(`evictd: still running 2 s after it stopped (open: ${process.getActiveResourcesInfo().join(', ')}); exiting\n`);
      process.exit(code);
    }, 2_000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`evictd: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
