/**
 * There is no Docker engine on the machines this runs on, so the Dockerfile is checked statically:
 * linted, parsed, and held to the properties the images must have (multi-stage, production
 * dependencies only, non-root, exec-form node entrypoint, pinned base image, health check, every
 * file the code reads at run time copied in, every COPY source present in the build context).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { REPO_ROOT, readCompose } from './compose-file.js';

const DOCKERFILE = resolve(REPO_ROOT, 'infra/docker/Dockerfile');
const text = readFileSync(DOCKERFILE, 'utf8');
const dockerfile = DockerfileParser.parse(text);

interface Stage {
  name: string;
  /** The FROM argument with build ARG defaults substituted. */
  base: string;
  instructions: Instruction[];
}

const buildArgs = new Map(
  dockerfile.getInitialARGs().map((arg) => [arg.getProperty()?.getName() ?? '', arg.getProperty()?.getValue() ?? '']),
);

function substituteArgs(value: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, a?: string, b?: string) => buildArgs.get(a ?? b ?? '') ?? whole);
}

const stages: Stage[] = [];
for (const instruction of dockerfile.getInstructions()) {
  if (instruction.getKeyword() === 'FROM') {
    const args = instruction.getArguments().map((a) => a.getValue());
    const asAt = args.findIndex((a) => a.toUpperCase() === 'AS');
    stages.push({ name: asAt >= 0 ? (args[asAt + 1] ?? '') : String(stages.length), base: substituteArgs(args[0] ?? ''), instructions: [] });
  } else {
    stages.at(-1)?.instructions.push(instruction);
  }
}
const stageByName = new Map(stages.map((s) => [s.name, s]));

/** The stage and the stages it is built FROM, nearest first. */
function lineage(name: string): Stage[] {
  const chain: Stage[] = [];
  for (let stage = stageByName.get(name); stage; stage = stageByName.get(stage.base)) chain.push(stage);
  return chain;
}

function instructionsOf(name: string, keyword: string): Instruction[] {
  return lineage(name)
    .reverse()
    .flatMap((stage) => stage.instructions.filter((i) => i.getKeyword() === keyword));
}

function argumentsOf(instruction: Instruction): string[] {
  return instruction.getArguments().map((a) => a.getValue());
}

function fromFlag(instruction: Instruction): string | undefined {
  return instruction instanceof Copy ? (instruction.getFromFlag()?.getValue() ?? undefined) : undefined;
}

/** The COPY instructions in a stage's lineage that take files from another stage: [stage, sources]. */
function copiesFromStages(name: string): { from: string; sources: string[] }[] {
  return instructionsOf(name, 'COPY')
    .map((copy) => ({ from: fromFlag(copy), args: argumentsOf(copy) }))
    .filter((c): c is { from: string; args: string[] } => c.from !== undefined)
    .map((c) => ({ from: c.from, sources: c.args.slice(0, -1) }));
}

const targets = [...new Set(Object.values(readCompose().services).map((s) => s.build?.target).filter((t): t is string => t !== undefined))];

test('the Dockerfile passes the dockerfile-utils linter without a diagnostic', () => {
  assert.deepEqual(
    validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
    [],
  );
});

test('every compose build target is a stage of the Dockerfile, built in several stages', () => {
  assert.deepEqual(targets.sort(), ['demo-api', 'evictd']);
  for (const target of targets) {
    assert.ok(stageByName.has(target), `docker-compose.yml builds target ${target}, which infra/docker/Dockerfile lacks`);
    assert.ok(lineage(target).length >= 2, `${target} should build FROM a shared runtime stage`);
  }
});

test('base images are pinned to an exact version, never a floating tag', () => {
  const external = stages.filter((s) => !stageByName.has(s.base)).map((s) => s.base);
  assert.ok(external.length > 0);
  for (const image of external) {
    assert.match(image, /^[a-z0-9./-]+:\d+\.\d+(\.\d+)?(-[a-z0-9.-]+)?$/, `${image}: pin major.minor(.patch)`);
  }
});

test('each final image runs as a non-root user with node itself as PID 1 (exec form, SIGTERM reaches evictd)', () => {
  for (const target of targets) {
    const users = instructionsOf(target, 'USER').map((u) => argumentsOf(u)[0]);
    assert.ok(users.length > 0, `${target}: no USER, it would run as root`);
    assert.ok(!['root', '0', '0:0'].includes(users.at(-1) ?? ''), `${target}: last USER is ${users.at(-1)}`);

    const entrypoints = instructionsOf(target, 'ENTRYPOINT');
    const entrypoint = JSON.parse(entrypoints.at(-1)?.getArgumentsContent() ?? 'null') as unknown;
    assert.ok(Array.isArray(entrypoint), `${target}: ENTRYPOINT must be the JSON (exec) form, so no shell sits between docker and node`);
    assert.equal(entrypoint[0], 'node', `${target}: node, not npm or a shell, must receive the signals`);
    const script = String(entrypoint[1]);
    const source = script.replace('/dist/', '/src/').replace(/\.js$/, '.ts');
    assert.ok(existsSync(resolve(REPO_ROOT, source)), `${target}: entrypoint ${script} is built from ${source}, which does not exist`);
  }
});

test('each final image has a health check', () => {
  for (const target of targets) assert.ok(instructionsOf(target, 'HEALTHCHECK').length > 0, `${target}: no HEALTHCHECK`);
});

test('final images take node_modules only from stages that installed production dependencies', () => {
  for (const target of targets) {
    const copies = copiesFromStages(target);
    const withModules = copies.filter((c) => c.sources.some((s) => s === '/app' || s.includes('node_modules')));
    assert.ok(withModules.length > 0, `${target}: no dependencies copied in`);
    for (const copy of withModules) {
      const runs = instructionsOf(copy.from, 'RUN').map((r) => r.getArgumentsContent() ?? '');
      assert.ok(runs.some((r) => /npm ci\b[^&]*--omit=dev/.test(r)), `${target} copies dependencies from ${copy.from}, which does not run npm ci --omit=dev`);
      assert.ok(!runs.some((r) => /npm ci\b/.test(r) && !/--omit=dev/.test(r)), `${copy.from} also installs dev dependencies`);
    }
    for (const copy of copies) {
      assert.ok(stages.findIndex((s) => s.name === copy.from) < stages.findIndex((s) => s.name === target), `${target}: COPY --from=${copy.from} must name an earlier stage`);
    }
  }
});

function filesUnder(dir: string, keep: (file: string) => boolean = () => true): string[] {
  return readdirSync(resolve(REPO_ROOT, dir)).filter(keep).map((f) => `${dir}/${f}`);
}

/** Files read at run time next to the compiled code, per image (paths relative to /app). */
const runtimeData: Record<string, string[]> = {
  evictd: [...filesUnder('schemas', (f) => f.endsWith('.schema.json')), ...filesUnder('schemas/redis')],
};
runtimeData['demo-api'] = [...(runtimeData.evictd ?? []), ...filesUnder('services/demo-api/page')];

/** Paths (relative to /app) a target's lineage copies in, from earlier stages or the build context. */
function copiedPaths(target: string): string[] {
  return instructionsOf(target, 'COPY').flatMap((copy) => {
    const sources = argumentsOf(copy).slice(0, -1);
    return fromFlag(copy) === undefined ? sources : sources.map((s) => s.replace(/^\/app\//, ''));
  });
}

test('every data file the code reads at run time is copied into the image that runs it', () => {
  for (const target of targets) {
    const needed = runtimeData[target] ?? [];
    assert.ok(needed.length >= 4, `${target}: no runtime data listed`);
    const copied = copiedPaths(target).map((p) => p.replace(/\/$/, ''));
    for (const file of needed) {
      assert.ok(copied.some((source) => file === source || file.startsWith(`${source}/`)), `${target}: ${file} is read at run time but not copied into the image`);
    }
  }
});

test('every COPY source from the build context exists and is not excluded by .dockerignore', () => {
  const ignored = readFileSync(resolve(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const pattern of ['**/node_modules', '**/dist', '.git', '**/*.tsbuildinfo']) {
    assert.ok(ignored.includes(pattern), `.dockerignore should exclude ${pattern} (local builds must not leak into the image)`);
  }
  const contextCopies = stages.flatMap((s) => s.instructions.filter((i) => i.getKeyword() === 'COPY' && fromFlag(i) === undefined));
  assert.ok(contextCopies.length > 0);
  for (const copy of contextCopies) {
    for (const source of argumentsOf(copy).slice(0, -1)) {
      assert.ok(existsSync(join(REPO_ROOT, source)), `COPY ${source}: not in the repository`);
      assert.ok(!ignored.includes(source.replace(/\/$/, '')), `COPY ${source}: excluded by .dockerignore`);
    }
  }
});

test('the manifests stage copies the package.json of every npm workspace (npm ci checks them against the lockfile)', () => {
  const rootPackage = JSON.parse(readFileSync(resolve(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
  const copied = stageByName.get('manifests')?.instructions.filter((i) => i.getKeyword() === 'COPY').flatMap((i) => argumentsOf(i).slice(0, -1)) ?? [];
  for (const workspace of rootPackage.workspaces) assert.ok(copied.includes(`${workspace}/package.json`), `manifests stage lacks ${workspace}/package.json`);
  assert.ok(copied.includes('package-lock.json'));
});
