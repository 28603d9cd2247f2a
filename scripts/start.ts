/**
 * The run command's engine (`bash scripts/run.sh`): starts the whole service on embedded defaults.
 *   - PostgreSQL: DATABASE_URL when set, otherwise an embedded PGlite server kept in .data/pglite
 *   - the Temporal dev server with its Web UI (.data/temporal.db), unless TEMPORAL_ADDRESS is set
 *   - migrations, then the worker and the API as separate processes
 *   - a demo shop (a paid parent order and one offer per sandbox outcome), and a ready-to-paste curl
 * Ctrl-C stops everything.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { portOpen, startTemporalDevServer, stopChild, type RunningProcess } from './lib/temporal-dev.ts';
import { freePort, waitFor } from './lib/ports.ts';
import { seedDemoShop } from './lib/demo-seed.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = `${root}.data`;
mkdirSync(dataDir, { recursive: true });

const say = (msg: string) => console.log(`[ocart] ${msg}`);

/** Development secrets, made once per checkout and kept in .data/ (never committed). */
function devSecrets(): Record<string, string> {
  const file = `${dataDir}/dev-secrets.json`;
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  const secrets = {
    OCART_API_KEY: `dev_${randomBytes(24).toString('base64url')}`,
    OCART_TOKEN_SECRETS: `dev1:${randomBytes(32).toString('base64url')}`,
    SANDBOX_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

const children: Array<{ name: string; stop: () => Promise<void> }> = [];
let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('stopping...');
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
  }
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

function run(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping the rest`);
      void stopAll(1);
    }
  });
  children.push({ name, stop: () => stopChild(child, 10_000) });
  return child;
}

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...devSecrets(), ...process.env };
  const port = Number(env.PORT ?? 3000);
  env.PORT = String(port);
  env.PUBLIC_BASE_URL ??= `http://127.0.0.1:${port}`;

  if (!env.DATABASE_URL) {
    const pgPort = Number(env.OCART_EMBEDDED_PG_PORT ?? 54329);
    if (await portOpen(pgPort)) throw new Error(`port ${pgPort} is taken; set OCART_EMBEDDED_PG_PORT or DATABASE_URL`);
    say(`DATABASE_URL is not set: using embedded PostgreSQL (PGlite) in .data/pglite on 127.0.0.1:${pgPort}`);
    const pglite = run('embedded PostgreSQL', `${root}node_modules/.bin/pglite-server`, ['-d', `${dataDir}/pglite`, '-p', String(pgPort), '-m', '20'], env);
    void pglite;
    await waitFor(() => portOpen(pgPort), 60_000, 'embedded PostgreSQL');
    env.DATABASE_URL = `postgresql://postgres:postgres@127.0.0.1:${pgPort}/postgres?sslmode=disable`;
    // PGlite runs one backend: keep pools small.
    env.DATABASE_POOL_SIZE ??= '1';
  } else {
    say('using the PostgreSQL at DATABASE_URL');
  }

  say('applying migrations (prisma migrate deploy)');
  execFileSync(`${root}node_modules/.bin/prisma`, ['migrate', 'deploy'], { cwd: root, env, stdio: 'pipe' });

  let uiUrl = env.TEMPORAL_UI_URL ?? '';
  if (!env.TEMPORAL_ADDRESS) {
    const tPort = Number(env.TEMPORAL_PORT ?? 7233);
    const uiPort = Number(env.TEMPORAL_UI_PORT ?? 8233);
    say(`starting the Temporal dev server on 127.0.0.1:${tPort} (Web UI on ${uiPort}, state in .data/temporal.db)`);
    const temporal: RunningProcess = await startTemporalDevServer({ port: tPort, uiPort, dbFile: `${dataDir}/temporal.db`, quiet: true });
    children.push({ name: 'temporal', stop: temporal.stop });
    temporal.child.on('exit', () => !stopping && void stopAll(1));
    env.TEMPORAL_ADDRESS = `127.0.0.1:${tPort}`;
    uiUrl = `http://127.0.0.1:${uiPort}`;
  }
  // The merchant console (/admin) links each accept to its workflow in this UI.
  if (uiUrl) env.TEMPORAL_UI_URL = uiUrl;

  // The worker's /healthz (on a free port unless one is set) answers once it polls: "running" below
  // means the worker too, not only the API.
  env.WORKER_METRICS_PORT ??= String(await freePort());
  const workerHealth = `http://127.0.0.1:${env.WORKER_METRICS_PORT}/healthz`;
  // node with tsx as an import hook: one process per service, so signals reach the service itself.
  run('worker', process.execPath, ['--import', 'tsx', 'worker/main.ts'], env);
  run('api', process.execPath, ['--import', 'tsx', 'api/main.ts'], env);
  const base = env.PUBLIC_BASE_URL;
  await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 90_000, 'the API to be ready');
  await waitFor(async () => (await fetch(workerHealth)).ok, 90_000, 'the worker to poll Temporal');

  const demo = await seedDemoShop(base, env.OCART_API_KEY!);
  const key = `demo-${randomBytes(6).toString('hex')}`;
  console.log(`
================ OCart one-click upsells is running ================
  API            ${base}
  Ready check    ${base}/readyz
  Worker health  ${workerHealth}   (and /metrics)
  Demo page      ${base}/demo
  Console        ${base}/admin   (sign in with the API key below)
  Temporal UI    ${uiUrl || '(external Temporal: see your own UI)'}
  API key        ${env.OCART_API_KEY}   (shop-backend routes: Authorization: Bearer ...)

Accept the demo offer that succeeds (copy and paste):

  curl -sS -X POST '${base}/wp-json/ocart/v1/upsells/${demo.offers.success}/accept' \\
    -H 'Content-Type: application/json' -H 'X-Idempotency-Key: ${key}' \\
    -d '{"token":"${demo.successToken}","cart_id":"${demo.cartId}"}'

Demo offers: success=${demo.offers.success}  sca=${demo.offers.sca}  decline=${demo.offers.decline}
Parent order: ${demo.orderExternalId} (cart ${demo.cartId}). Ctrl-C stops everything.
=====================================================================
`);
}

main().catch(async (err) => {
  console.error(`[ocart] failed to start: ${(err as Error).message}`);
  await stopAll(1);
});
