import type { ConfigProblem } from './types.js';

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of a parsed document with values from
 * `env`. A reference to an unset variable without a default is a problem reported with its path,
 * never an empty string (a silently empty password is worse than a failed start).
 */
export function interpolateEnv(value: unknown, env: Readonly<Record<string, string | undefined>>, problems: ConfigProblem[], path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (whole, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push({ path, message: `refers to environment variable ${name}, which is not set: set it or write \${${name}:-default}` });
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, problems, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, problems, path ? `${path}.${key}` : key)]),
    );
  }
  return value;
}
