/** Starts the worker and API as separate processes with a given environment (bench, reliability suite). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopChild } from './temporal-dev.ts';
import { waitFor } from './ports.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after the grace period */
  stop(graceMs?: number): Promise<void>;
  kill(): Promise<void>;
  output(): string;
}

export function launch(
  entry: 'worker/main.ts' | 'api/main.ts' | 'scripts/lib/bench-floor-worker.ts',
  env: NodeJS.ProcessEnv,
  logFile?: (chunk: string) => void,
  /** extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…'] (not allowed in NODE_OPTIONS) */
  nodeArgs: string[] = [],
): ServiceProcess {
  // node itself with tsx as an import hook: one process, so a signal (SIGKILL above all) reaches the
  // service and not a wrapper that would leave it running.
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (b: Buffer) => {
    const s = b.toString();
    tail = (tail + s).slice(-20_000);
    logFile?.(s);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return {
    child,
    stop: (graceMs = 10_000) => stopChild(child, graceMs),
    kill: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
    output: () => tail,
  };
}

function exited(proc: ServiceProcess): boolean {
  return proc.child.exitCode !== null || proc.child.signalCode !== null;
}

/** Waits for /readyz; fails at once, with the process's output, if the API process has exited. */
export async function waitForApi(base: string, proc: ServiceProcess, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    async () => {
      if (exited(proc)) throw new Error(`the API exited:\n${proc.output()}`);
      return (await fetch(`${base}/readyz`)).ok;
    },
    timeoutMs,
    `the API at ${base} to be ready`,
  ).catch((err: Error) => {
    throw exited(proc) ? new Error(`the API exited:\n${proc.output()}`) : err;
  });
}

export async function waitForWorker(proc: ServiceProcess, timeoutMs = 90_000): Promise<void> {
  await waitFor(async () => proc.output().includes('worker started') || exited(proc), timeoutMs, 'the worker to start');
  if (exited(proc)) throw new Error(`the worker exited:\n${proc.output()}`);
}
