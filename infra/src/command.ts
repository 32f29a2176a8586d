import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { logTail } from './server.js';

export interface CommandSpec {
  /** Named in the error. */
  what: string;
  command: string;
  args: string[];
  /** Output is appended here; its tail goes into the error. */
  logFile: string;
  user?: { uid: number; gid: number } | undefined;
  cwd?: string;
}

/** Runs a one-shot setup command (initdb, kafka storage format, mvn) and fails with its output's tail. */
export async function runToCompletion(spec: CommandSpec): Promise<void> {
  const log = openSync(spec.logFile, 'a');
  let result: Promise<number | string>;
  try {
    const child = spawn(spec.command, spec.args, { stdio: ['ignore', log, log], ...(spec.user ?? {}), ...(spec.cwd ? { cwd: spec.cwd } : {}) });
    result = new Promise((resolve) => {
      child.once('error', (err) => resolve(err.message));
      child.once('exit', (code, signal) => resolve(code ?? `signal ${signal}`));
    });
  } finally {
    closeSync(log);
  }
  const outcome = await result;
  if (outcome !== 0) {
    const how = typeof outcome === 'number' ? `exit code ${outcome}` : outcome;
    throw new Error(`${spec.what} failed (${how}): ${spec.command} ${spec.args.join(' ')}\n--- last lines of ${spec.logFile} ---\n${logTail(spec.logFile)}`);
  }
}
