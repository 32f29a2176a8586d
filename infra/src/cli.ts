/**
 * `npm run stack`: runs the local stack in the foreground, prints DATABASE_URL=, KAFKA_BROKERS=,
 * REDIS_URL= on stdout once every server answers, and stops it on Ctrl-C / SIGTERM.
 */
import { parseArgs } from 'node:util';
import { ALL_SERVICES, startStack, type Stack } from './stack.js';
import type { ServiceName } from './server.js';

const USAGE = `usage: npm run stack [-- options]
  --dir DIR            keep data, logs and ports in DIR (reused when started again there); default: a new temp dir
  --keep               keep the data dir after stopping (a temp dir is otherwise removed)
  --detach             leave the servers running and exit (implies --keep); stop them later with the printed kill command
  --services LIST      comma list of ${ALL_SERVICES.join(',')} (default: all)
  --help`;

const info = (line: string) => console.error(`[stack] ${line}`);

function parseServices(list: string | undefined): ServiceName[] | undefined {
  if (list === undefined) return undefined;
  const names = list.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(ALL_SERVICES as readonly string[]).includes(n));
  if (unknown.length) throw new Error(`--services: unknown ${unknown.join(', ')} (choose from ${ALL_SERVICES.join(', ')})`);
  return names as ServiceName[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      detach: { type: 'boolean', default: false },
      services: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const services = parseServices(values.services);
  const keep = values.keep || values.detach;
  const t0 = performance.now();
  let stack: Stack | undefined;
  // Ctrl-C while starting: the exit hook kills the servers already spawned.
  const early = () => process.exit(130);
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
  stack = await startStack({ ...(services ? { services } : {}), ...(values.dir ? { dir: values.dir } : {}), keep, handleSignals: false, onProgress: info });
  process.off('SIGINT', early);
  process.off('SIGTERM', early);

  for (const [name, value] of Object.entries(stack.env)) console.log(`${name}=${value}`);
  const times = Object.entries(stack.startMs).map(([name, ms]) => `${name} ${ms} ms`);
  info(`ready in ${Math.round(performance.now() - t0)} ms (${times.join(', ')}); data in ${stack.dir}`);
  for (const s of stack.servers) info(`${s.name}: pid ${s.pid}, port ${s.port}, log ${s.logFile}`);

  if (values.detach) {
    info(`left running; stop with: kill ${stack.servers.map((s) => s.pid).join(' ')}  (data stays in ${stack.dir})`);
    return;
  }
  info('Ctrl-C stops it');
  const alive = setInterval(() => {}, 1 << 30); // the servers are unref'd children: hold the process open
  const shutdown = (sig: NodeJS.Signals) => {
    const running = stack;
    stack = undefined;
    if (!running) return;
    info(`${sig}: stopping`);
    void running.stop().then(() => {
      clearInterval(alive);
      info(keep ? `stopped; data kept in ${running.dir}` : 'stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.on('SIGHUP', shutdown);
}

main().catch((err: unknown) => {
  // Messages are made to be read as they are: a missing tool says what to install, a failed start shows the log tail.
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
