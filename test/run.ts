/**
 * `npm test`: every `**\/src/**\/*.test.ts` and `test/**\/*.test.ts` against one local stack (or the
 * servers named by DATABASE_URL, KAFKA_BROKERS, REDIS_URL when all three are set).
 * `npm run test:unit` (--unit): only the src tests, no stack. Extra arguments pick files:
 * `npm test -- test/integration/smoke.test.ts`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSetup, externalStackEnv, startStack, type Stack, type StackEnv } from '@evictd/infra';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEST_TIMEOUT_MS = 10 * 60_000;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.stack', '.ci']);
/** Runs Java source against Kafka Connect's JsonConverter: needs a JDK and the Kafka jars even with external servers. */
const CONNECT_CHECK_TEST = 'publish-connect-schemas.test.ts';

function findTests(dir: string, found: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) findTests(join(dir, entry.name), found);
    } else if (entry.name.endsWith('.test.ts')) {
      found.push(relative(ROOT, join(dir, entry.name)));
    }
  }
  return found;
}

const isUnitTest = (file: string) => file.split(sep).includes('src');
const isSuiteTest = (file: string) => isUnitTest(file) || file.startsWith(`test${sep}`);

function selectFiles(args: string[], unit: boolean): string[] {
  if (args.length === 0) return findTests(ROOT).filter(unit ? isUnitTest : isSuiteTest).sort();
  const missing = args.filter((f) => !existsSync(resolve(f)));
  if (missing.length) throw new Error(`no such test file: ${missing.join(', ')}`);
  return args.map((f) => relative(ROOT, resolve(f)));
}

const stamp = () => new Date().toISOString().slice(11, 19);
const say = (line: string) => console.error(`[test/run ${stamp()}] ${line}`);

function runNodeTest(files: string[], env: Partial<StackEnv>): Promise<number> {
  // --test-force-exit: a file whose tests finished but which leaks a handle (a client left open)
  // would otherwise hang the whole run, and CI with it; --test-timeout bounds a test that hangs.
  const args = ['--conditions=development', '--import', 'tsx', '--test', '--test-concurrency=1', '--test-force-exit', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  // The test process shares the terminal: Ctrl-C reaches it too; a SIGTERM to us is passed on.
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  return new Promise((done) => {
    child.once('error', (err) => {
      say(`could not start node --test: ${err.message}`);
      done(1);
    });
    child.once('exit', (code, signal) => done(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const unit = argv.includes('--unit');
  const files = selectFiles(
    argv.filter((a) => a !== '--unit'),
    unit,
  );
  if (files.length === 0) {
    say('no test files found');
    return 1;
  }
  if (unit) return runNodeTest(files, {});

  let stack: Stack | undefined;
  let env = externalStackEnv();
  // Until the tests run, a signal means: stop what was started, then leave.
  const abandon = (sig: NodeJS.Signals) => () => void (stack?.stop() ?? Promise.resolve()).then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  const early = { SIGINT: abandon('SIGINT'), SIGTERM: abandon('SIGTERM') };
  process.once('SIGINT', early.SIGINT);
  process.once('SIGTERM', early.SIGTERM);
  try {
    // A fresh machine: system packages (apt as root on Debian/Ubuntu, else the command to run) and the Kafka jars.
    await ensureSetup({
      stack: !env,
      browser: files.some((f) => f.startsWith(`test${sep}browser${sep}`)),
      javaCompiler: files.some((f) => f.endsWith(CONNECT_CHECK_TEST)),
      memcached: files.some((f) => f.includes('memcached')),
      varnish: files.some((f) => f.includes('target-http')),
    }, (m) => say(`setup: ${m}`));
    if (env) {
      say('using the servers named by DATABASE_URL, KAFKA_BROKERS, REDIS_URL');
    } else {
      const t0 = performance.now();
      stack = await startStack({ handleSignals: false, onProgress: say });
      env = stack.env;
      const per = Object.entries(stack.startMs).map(([name, ms]) => `${name} ${ms} ms`);
      say(`local stack ready in ${Math.round(performance.now() - t0)} ms (${per.join(', ')}) in ${stack.dir}`);
    }
    process.off('SIGINT', early.SIGINT);
    process.off('SIGTERM', early.SIGTERM);
    const t0 = performance.now();
    const code = await runNodeTest(files, env);
    say(`${files.length} test files finished on node ${process.version} in ${Math.round(performance.now() - t0)} ms, exit code ${code}`);
    return code;
  } finally {
    if (stack) {
      await stack.stop();
      say('local stack stopped');
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
