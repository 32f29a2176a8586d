/**
 * Builds a target of infra/docker/Dockerfile without Docker, to check what the image would
 * contain and that it starts: each stage is a directory standing for the container's file system
 * (container path /app is <stage dir>/app), COPY copies (from the build context minus
 * .dockerignore, or from an earlier stage's directory), RUN runs with the host's shell, node and
 * npm in the stage's WORKDIR with the stage's ENV. A base image is an empty directory: what the
 * image adds on top of Node.js is what gets checked. Only the instructions the Dockerfile uses are
 * supported; any other one fails loudly instead of being skipped.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { Copy, DockerfileParser, Env, type Instruction } from 'dockerfile-ast';
import { REPO_ROOT } from './compose-file.js';

export const DOCKERFILE = resolve(REPO_ROOT, 'infra/docker/Dockerfile');

export interface NativeImage {
  /** The directory standing for the image's root file system. */
  root: string;
  /** WORKDIR, as a host path. */
  workdir: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  user: string | undefined;
}

interface StageState extends NativeImage {
  name: string;
  /** Container path of the WORKDIR. */
  containerWorkdir: string;
}

/** `.dockerignore` patterns as tests on context-relative paths (`**` any depth, `*` within a segment). */
function dockerignore(context: string): (path: string) => boolean {
  const file = join(context, '.dockerignore');
  const patterns = existsSync(file)
    ? readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
    : [];
  if (patterns.some((p) => p.startsWith('!'))) throw new Error('native build: "!" exceptions in .dockerignore are not supported');
  const regexes = patterns.map((pattern) => {
    const body = pattern
      .replace(/\/$/, '')
      .split('/')
      .map((segment) => (segment === '**' ? '(?:.*/)?' : `${segment.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}/`))
      .join('');
    return new RegExp(`^${body.replace(/\/$/, '')}(?:/.*)?$`);
  });
  return (path) => regexes.some((r) => r.test(path));
}

/** Copies like COPY: a directory's contents into dest, a file into dest (or into dest/ when it ends with /). */
function copyInto(source: string, dest: string, destIsDir: boolean, skip: (abs: string) => boolean): void {
  if (!existsSync(source)) throw new Error(`native build: COPY source ${source} does not exist`);
  if (statSync(source).isDirectory()) {
    mkdirSync(dest, { recursive: true });
    for (const entry of readdirSync(source)) {
      const from = join(source, entry);
      if (!skip(from)) cpSync(from, join(dest, entry), { recursive: true, verbatimSymlinks: true, filter: (p) => !skip(p) });
    }
    return;
  }
  const target = destIsDir ? join(dest, basename(source)) : dest;
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target);
}

function jsonForm(instruction: Instruction): string[] {
  const parsed = JSON.parse(instruction.getArgumentsContent() ?? '') as unknown;
  if (!Array.isArray(parsed)) throw new Error(`native build: ${instruction.getKeyword()} must use the JSON form`);
  return parsed.map(String);
}

/**
 * Builds `targets` (and the stages they need) under `workDir`; returns each target's image.
 * Stages are built in file order, once, and shared between targets.
 */
export function buildNative(targets: readonly string[], workDir = mkdtempSync(join(tmpdir(), 'evictd-native-build-')), log: (line: string) => void = () => {}): Record<string, NativeImage> {
  const dockerfile = DockerfileParser.parse(readFileSync(DOCKERFILE, 'utf8'));
  const ignored = dockerignore(REPO_ROOT);
  const skipContext = (abs: string) => ignored(relative(REPO_ROOT, abs));
  const args = new Map(dockerfile.getInitialARGs().map((a) => [a.getProperty()?.getName() ?? '', a.getProperty()?.getValue() ?? '']));
  const substitute = (text: string) => text.replace(/\$\{([A-Za-z_]\w*)\}/g, (whole, name: string) => args.get(name) ?? whole);
  const stages = new Map<string, StageState>();
  let stage: StageState | undefined;
  const inContainer = (s: StageState, path: string) => join(s.root, path.startsWith('/') ? path : join(s.containerWorkdir, path));

  const lastNeeded = Math.max(...targets.map((t) => dockerfile.getFROMs().findIndex((f) => f.getBuildStage() === t)));
  if (lastNeeded < 0 || targets.some((t) => !dockerfile.getFROMs().some((f) => f.getBuildStage() === t))) {
    throw new Error(`native build: targets ${targets.join(', ')} are not all stages of ${DOCKERFILE}`);
  }
  let fromIndex = -1;
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const words = instruction.getArguments().map((a) => a.getValue());
    if (keyword === 'ARG' && !stage) continue;
    if (keyword === 'FROM') {
      fromIndex += 1;
      if (fromIndex > lastNeeded) break;
      const base = substitute(words[0] ?? '');
      const name = words[2] ?? String(fromIndex);
      const root = join(workDir, name);
      const parent = stages.get(base);
      if (parent) cpSync(parent.root, root, { recursive: true, verbatimSymlinks: true });
      else mkdirSync(root, { recursive: true });
      stage = parent
        ? { ...parent, name, root, env: { ...parent.env }, workdir: join(root, parent.containerWorkdir) }
        : { name, root, workdir: root, containerWorkdir: '/', env: {}, entrypoint: [], cmd: [], user: undefined };
      stages.set(name, stage);
      log(`FROM ${base} AS ${name}`);
      continue;
    }
    if (!stage) throw new Error(`native build: ${keyword} before FROM`);
    const current = stage;
    switch (keyword) {
      case 'WORKDIR':
        current.containerWorkdir = words[0] ?? '/';
        current.workdir = join(current.root, current.containerWorkdir);
        mkdirSync(current.workdir, { recursive: true });
        break;
      case 'ENV':
        if (!(instruction instanceof Env)) throw new Error('native build: ENV not parsed as ENV');
        // dockerfile-ast's properties handle quoting (NAME="a b") as Docker does.
        for (const property of instruction.getProperties()) {
          const value = property.getValue();
          if (value === null) throw new Error(`native build: ENV ${property.getName()}: use NAME=value`);
          current.env[property.getName()] = value;
        }
        break;
      case 'COPY': {
        if (!(instruction instanceof Copy)) throw new Error('native build: COPY not parsed as COPY');
        const from = instruction.getFromFlag()?.getValue() ?? undefined;
        if (instruction.getFlags().some((f) => f.getName() !== 'from')) throw new Error(`native build: COPY flags other than --from are not supported (line ${instruction.getRange().start.line + 1})`);
        const sources = words.slice(0, -1);
        const destWord = words.at(-1) ?? '';
        const dest = inContainer(current, destWord);
        const destIsDir = destWord.endsWith('/') || sources.length > 1;
        for (const source of sources) {
          if (from) {
            const origin = stages.get(from);
            if (!origin) throw new Error(`native build: COPY --from=${from}: no earlier stage of that name`);
            copyInto(join(origin.root, source), dest, destIsDir, () => false);
          } else {
            if (skipContext(resolve(REPO_ROOT, source))) throw new Error(`native build: COPY ${source} is excluded by .dockerignore`);
            copyInto(resolve(REPO_ROOT, source), dest, destIsDir, skipContext);
          }
        }
        break;
      }
      case 'RUN': {
        const command = instruction.getArgumentsContent()?.replace(/\\\n/g, ' ') ?? '';
        log(`RUN ${command}`);
        execFileSync('sh', ['-c', command], { cwd: current.workdir, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...current.env }, stdio: ['ignore', 'pipe', 'pipe'] });
        break;
      }
      case 'USER':
        current.user = words[0];
        break;
      case 'ENTRYPOINT':
        current.entrypoint = jsonForm(instruction);
        break;
      case 'CMD':
        current.cmd = jsonForm(instruction);
        break;
      case 'EXPOSE':
      case 'HEALTHCHECK':
        break; // metadata that changes no file; test/docker/dockerfile.test.ts checks them
      default:
        throw new Error(`native build: ${keyword} is not supported`);
    }
  }
  return Object.fromEntries(
    targets.map((t) => {
      const built = stages.get(t);
      if (!built) throw new Error(`native build: target ${t} was not built`);
      const { root, workdir, env, entrypoint, cmd, user } = built;
      return [t, { root, workdir, env, entrypoint, cmd, user }];
    }),
  );
}

