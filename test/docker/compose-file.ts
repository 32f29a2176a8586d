/**
 * Reads docker-compose.yml the way `docker compose` would for what the docker tests need: YAML
 * with merge keys, `${VAR}` / `${VAR:-default}` / `${VAR-default}` interpolation, environment
 * mappings as strings, and bind mounts resolved to files of this repository.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { parse } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const COMPOSE_FILE = resolve(REPO_ROOT, 'docker-compose.yml');

type Env = Readonly<Record<string, string | undefined>>;

export interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; target?: string };
  command?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: (string | { type: string; source?: string; target: string })[];
  ports?: (string | number | Record<string, unknown>)[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  [key: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  [key: string]: unknown;
}

/** The file as parsed YAML, before interpolation (what the Compose JSON Schema validates). */
export function readComposeDocument(file = COMPOSE_FILE): ComposeFile {
  return parse(readFileSync(file, 'utf8'), { merge: true }) as ComposeFile;
}

/**
 * Compose's interpolation of one string. Only the forms this repository uses are accepted: an
 * unsupported one (`${VAR:?error}`, nested defaults) fails loudly rather than being misread.
 */
export function interpolate(value: string, env: Env): string {
  return value.replace(/\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    if (whole === '$$') return '$';
    const expression = braced ?? bare ?? '';
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)(.*))?$/.exec(expression);
    if (!match) throw new Error(`docker-compose.yml: unsupported interpolation ${whole}`);
    const [, name = '', operator, fallback = ''] = match;
    const found = env[name];
    if (operator === ':-') return found === undefined || found === '' ? fallback : found;
    if (operator === '-') return found === undefined ? fallback : found;
    return found ?? '';
  });
}

function interpolateDeep(value: unknown, env: Env): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((item) => interpolateDeep(item, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, env)]));
  }
  return value;
}

/** The file after interpolation with `env` (by default none set, so every default applies). */
export function readCompose(env: Env = {}, file = COMPOSE_FILE): ComposeFile {
  return interpolateDeep(readComposeDocument(file), env) as ComposeFile;
}

export function service(compose: ComposeFile, name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** The container's environment as strings, as compose passes it (numbers and booleans stringified). */
export function environmentOf(svc: ComposeService): Record<string, string> {
  const env = svc.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const at = entry.indexOf('=');
      return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

export interface BindMount {
  /** Absolute path on the host (in this checkout). */
  source: string;
  /** Path in the container. */
  target: string;
}

/** Bind mounts of host paths (`./x:/y[:ro]`); named volumes are left out. */
export function bindMountsOf(svc: ComposeService): BindMount[] {
  const mounts: BindMount[] = [];
  for (const volume of svc.volumes ?? []) {
    if (typeof volume === 'string') {
      const [source = '', target = ''] = volume.split(':');
      if (source.startsWith('.') || source.startsWith('/')) mounts.push({ source: resolve(REPO_ROOT, source), target });
    } else if (volume.type === 'bind' && volume.source) {
      mounts.push({ source: resolve(REPO_ROOT, volume.source), target: volume.target });
    }
  }
  return mounts;
}

/** The host file mounted at a container path, or an error naming the service and path. */
export function hostPathOf(svc: ComposeService, containerPath: string, serviceName: string): string {
  const mount = bindMountsOf(svc).find((m) => m.target === containerPath);
  if (!mount) throw new Error(`service ${serviceName}: nothing from the repository is mounted at ${containerPath}`);
  return mount.source;
}

/** The value following `flag` in a command list (`--config FILE`). */
export function flagValue(command: readonly string[], flag: string): string | undefined {
  const at = command.indexOf(flag);
  return at < 0 ? undefined : command[at + 1];
}

/** Names of the services a service waits for, with their conditions. */
export function dependenciesOf(svc: ComposeService): Record<string, string> {
  const deps = svc.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, d]) => [name, d.condition ?? 'service_started']));
}

/** Scripts the postgres image runs on an empty volume, in the order it runs them (by file name). */
export function postgresInitScripts(svc: ComposeService): BindMount[] {
  return bindMountsOf(svc)
    .filter((m) => m.target.startsWith('/docker-entrypoint-initdb.d/'))
    .sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}
