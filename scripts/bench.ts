/**
 * npm run bench: accept latency and throughput on the full stack (API and worker as separate
 * processes, the Temporal dev server, PostgreSQL, the sandbox gateway), against floors measured in
 * the same run on the same server settings: the in-process floor (the same activity sequence called
 * directly, no Temporal, no HTTP), an empty workflow, and a workflow of three no-op local activities
 * (the accept's happy-path shape), both by update-with-start. CPU per accept (server and worker)
 * is read from /proc before and after each level.
 *
 *   BENCH_LATENCY_MS   simulated gateway latency for the second pass (default 50; 0 skips it)
 *   BENCH_SCALE        multiplies the request counts (default 1)
 *   BENCH_WORKER_CPU_PROF_DIR  run the worker with --cpu-prof, its profile written here on exit
 *   BENCH_API_CPU_PROF_DIR     the same for the API
 *   BENCH_SUBSCRIBERS  event subscribers (HTTP endpoints in this process) each accepted event goes to (default 1)
 *   DATABASE_URL       use this database instead of a fresh one on 127.0.0.1:5432
 * Each level ends when every accept was answered and every event it wrote left the outbox (delivered
 * or failed): event delivery runs after the answer, and its CPU counts in the level's figures.
 * Writes reports/bench.json and reports/bench.svg.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { createActivities } from '../activities/index.ts';
import { createGatewayRegistry } from '../gateways/registry.ts';
import { createSandboxGateway } from '../gateways/sandbox.ts';
import { createPrisma, type Db } from '../db/client.ts';
import { requestFingerprint } from '../domain/idempotency.ts';
import { parseSigningKeys, signToken } from '../domain/token.ts';
import { createFreshDatabase } from './lib/fresh-db.ts';
import { freePort } from './lib/ports.ts';
import { benchSvg } from './lib/bench-svg.ts';
import { cpuMs, postgresCpuMs } from './lib/proc-cpu.ts';
import { launch, ROOT, waitForApi, waitForWorker } from './lib/services.ts';
import { startBenchSubscribers, type BenchSubscribers } from './lib/bench-subscribers.ts';
import { ONE_SHARD_DYNAMIC_CONFIG, startTemporalDevServer } from './lib/temporal-dev.ts';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1);
const PROFILE_DIR = process.env.BENCH_WORKER_CPU_PROF_DIR;
const API_PROFILE_DIR = process.env.BENCH_API_CPU_PROF_DIR;
const SLOW_MS = Number(process.env.BENCH_LATENCY_MS ?? 50);
const LATENCIES = SLOW_MS > 0 ? [0, SLOW_MS] : [0];
const LEVELS = [
  { concurrency: 1, count: Math.round(200 * SCALE) },
  { concurrency: 8, count: Math.round(400 * SCALE) },
  { concurrency: 32, count: Math.round(1000 * SCALE) },
];
const WARMUP = Math.round(60 * SCALE);
const FLOOR_COUNT = Math.round(200 * SCALE);

const API_KEY = `bench_${randomBytes(16).toString('hex')}`;
const TOKEN_SECRETS = `bench:${randomBytes(32).toString('hex')}`;
const keys = parseSigningKeys(TOKEN_SECRETS);
const PARENTS = 32;

interface LevelResult {
  gateway_latency_ms: number;
  concurrency: number;
  count: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  mean_ms: number;
  rps: number;
  errors: number;
  /** CPU ms per accept during this level (until its events left the outbox): the Temporal server, the worker, the API, PostgreSQL */
  cpu_ms_per_accept: { server: number; worker: number; api: number; database: number };
  /** the accepted events: outbox drain after the last answer, delivery lag (created to delivered), any not delivered */
  events?: { drain_after_last_answer_ms: number; lag_p50_ms: number; lag_p99_ms: number; not_delivered: number };
}

/** CPU of the processes an accept runs through, read from /proc around a measurement. */
interface CpuPids {
  server?: number;
  worker?: number;
  api?: number;
}
function cpuPerItem(pids: CpuPids) {
  const read = () => ({ server: cpuMs(pids.server), worker: cpuMs(pids.worker), api: cpuMs(pids.api), database: postgresCpuMs() });
  const before = read();
  return (count: number) => {
    const after = read();
    const per = (k: keyof typeof before) => (Number.isFinite(after[k] - before[k]) ? round((after[k] - before[k]) / count) : 0);
    return { server: per('server'), worker: per('worker'), api: per('api'), database: per('database') };
  };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
const round = (n: number) => Math.round(n * 100) / 100;

function progress(label: string, done: number, total: number) {
  if (!process.stderr.isTTY && done !== total && done % Math.max(1, Math.floor(total / 10)) !== 0) return;
  process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}  ${label}: ${done}/${total}${process.stderr.isTTY ? '   ' : '\n'}`);
  if (done === total && process.stderr.isTTY) process.stderr.write('\n');
}

async function seedShop(prisma: Db, tag: string) {
  const parents: Array<{ externalId: string; cartId: string }> = [];
  for (let i = 0; i < PARENTS; i++) {
    const externalId = `bench-${tag}-${i}`;
    const cartId = `cart-${tag}-${i}`;
    const id = `ord_bench_${tag}_${i}`;
    await prisma.order.create({
      data: {
        id,
        externalId,
        cartId,
        status: 'paid',
        currency: 'USD',
        totalAmount: 5000,
        paidAt: new Date(),
        customerEmail: 'bench@example.com',
        lineItems: { create: { id: `li_${tag}_${i}`, productId: 'prod_boots', name: 'Boots', quantity: 1, unitAmount: 5000 } },
        savedPaymentMethod: { create: { gateway: 'sandbox', customerRef: 'cus_bench', methodRef: 'pm_card_visa' } },
      },
    });
    parents.push({ externalId, cartId });
  }
  const offerId = `bench-offer-${tag}`;
  // Every parent takes this offer over and over (a new key and token each time): the once-per-order
  // limit is raised to the shop API's maximum so the benchmark measures accepts, not refusals.
  await prisma.offer.create({ data: { id: offerId, productId: 'prod_socks', name: 'Socks', amount: 1500, currency: 'USD', active: true, maxPerOrder: 1000 } });
  let n = 0;
  return {
    offerId,
    /** a fresh, single-use accept request */
    next() {
      const parent = parents[n++ % parents.length]!;
      const { token } = signToken({ offerId, orderId: parent.externalId, cartId: parent.cartId }, keys, new Date(), 30);
      return { key: `bench-${randomUUID()}`, body: { token, cart_id: parent.cartId } };
    },
  };
}

/** Waits until no event written since `since` is pending (the in-process floor leaves its own undelivered); then their delivery lag. */
async function outboxDrained(prisma: Db, since: Date) {
  const started = performance.now();
  for (;;) {
    const [row] = await prisma.$queryRaw<
      Array<{ n: number }>
    >`SELECT count(*)::int AS n FROM outbox_events WHERE status = 'pending' AND created_at >= ${since.toISOString()}::timestamp(3)`;
    if (!row || row.n === 0 || performance.now() - started > 120_000) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const drain_ms = round(performance.now() - started);
  const [lag] = await prisma.$queryRaw<Array<{ p50: number | null; p99: number | null; failed: number }>>`
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - created_at) * 1000) AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM delivered_at - created_at) * 1000) AS p99,
           count(*) FILTER (WHERE status <> 'delivered')::int AS failed
    FROM outbox_events WHERE created_at >= ${since.toISOString()}::timestamp(3)`;
  return { drain_after_last_answer_ms: drain_ms, lag_p50_ms: round(Number(lag?.p50 ?? NaN)), lag_p99_ms: round(Number(lag?.p99 ?? NaN)), not_delivered: lag?.failed ?? 0 };
}

async function runLevel(base: string, shop: Awaited<ReturnType<typeof seedShop>>, concurrency: number, count: number, label: string, pids: CpuPids = {}, outbox?: { prisma: Db }) {
  const cpu = cpuPerItem(pids);
  const since = new Date(Date.now() - 1000);
  const latencies: number[] = [];
  const samples: Array<{ key: string; ms: number }> = [];
  let errors = 0;
  let sent = 0;
  const started = performance.now();
  const lane = async () => {
    while (sent < count) {
      sent++;
      const { key, body } = shop.next();
      const t0 = performance.now();
      const res = await fetch(`${base}/wp-json/ocart/v1/upsells/${shop.offerId}/accept`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-idempotency-key': key },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { status?: string };
      latencies.push(performance.now() - t0);
      if (samples.length < 40) samples.push({ key, ms: performance.now() - t0 });
      if (res.status !== 200 || json.status !== 'succeeded') errors++;
      progress(label, latencies.length, count);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const elapsed = (performance.now() - started) / 1000;
  const events = outbox ? await outboxDrained(outbox.prisma, since) : undefined;
  const cpuPerAccept = cpu(count);
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    concurrency,
    count,
    p50_ms: round(pct(sorted, 50)),
    p95_ms: round(pct(sorted, 95)),
    p99_ms: round(pct(sorted, 99)),
    mean_ms: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    rps: round(count / elapsed),
    errors,
    cpu_ms_per_accept: cpuPerAccept,
    ...(events ? { events } : {}),
    samples,
  };
}

/**
 * Forged accepts answered per second: a tampered token (a genuine token's signature changed) under
 * a fresh key each time, from 32 concurrent clients for a few seconds. The API refuses these in
 * process (401 token_signature_invalid) before its rate limiter, the database or Temporal; anything
 * else it answers counts as an error.
 */
async function measureForgedRefusals(base: string, shop: Awaited<ReturnType<typeof seedShop>>, seconds = 4): Promise<{ per_s: number; count: number; errors: number }> {
  let count = 0;
  let errors = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (performance.now() < until) {
        const { key, body } = shop.next();
        const tampered = `${body.token.slice(0, -4)}${body.token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
        const res = await fetch(`${base}/wp-json/ocart/v1/upsells/${shop.offerId}/accept`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-idempotency-key': key },
          body: JSON.stringify({ ...body, token: tampered }),
        });
        const json = (await res.json()) as { code?: string };
        if (res.status === 401 && json.code === 'token_signature_invalid') count++;
        else errors++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  progress('forged accepts', count, count);
  return { per_s: round(count / elapsed), count, errors };
}

/**
 * Where a full-stack accept's time goes, from the workflow histories of sampled accepts (medians),
 * counting only what happens before the update is answered: the server's hand-off of workflow tasks
 * to the worker, the workflow tasks themselves (the local activities, charge and write, run inside
 * one), the regular activities (validate, check method), and the rest (HTTP, the update-with-start
 * call and its answer travelling back). The Temporal floors' c=1 samples are read the same way, so the
 * two compare part by part (a floor has no HTTP: its rest is the update-with-start call alone).
 */
async function breakdown(temporalAddress: string, samples: Array<{ key: string; ms: number }>) {
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection });
  const parts = {
    wft_dispatch_ms: [] as number[],
    wft_run_incl_local_activities_ms: [] as number[],
    regular_activities_ms: [] as number[],
    http_and_update_round_trip_ms: [] as number[],
  };
  // History event type ids, compared as numbers (the proto enum is not a dependency of this package).
  const EVENT = { started: 1, wftScheduled: 5, wftStarted: 6, wftCompleted: 7, actScheduled: 10, actCompleted: 12, updateCompleted: 43 };
  for (const { key, ms } of samples.slice(5)) {
    const all = (await client.workflow.getHandle(key).fetchHistory()).events ?? [];
    const answered = all.findIndex((e) => Number(e.eventType) === EVENT.updateCompleted);
    const events = answered > 0 ? all.slice(0, answered) : all;
    const t = (e: (typeof events)[number]) => (e.eventTime ? Number(e.eventTime.seconds) * 1000 + (e.eventTime.nanos ?? 0) / 1e6 : NaN);
    const sumPairs = (from: number, to: number) => {
      let total = 0;
      let open: number | null = null;
      for (const e of events) {
        if (Number(e.eventType) === from) open = t(e);
        else if (Number(e.eventType) === to && open !== null) {
          total += t(e) - open;
          open = null;
        }
      }
      return total;
    };
    const started = t(events[0]!);
    if (process.env.BENCH_DEBUG && key === samples[5]!.key) console.log(`http ${ms.toFixed(1)} ms:`, all.map((e) => `${e.eventType}@${(t(e) - started).toFixed(1)}`).join(' '));
    const lastWftDone = [...events].reverse().find((e) => Number(e.eventType) === EVENT.wftCompleted);
    parts.wft_dispatch_ms.push(sumPairs(EVENT.wftScheduled, EVENT.wftStarted));
    parts.wft_run_incl_local_activities_ms.push(sumPairs(EVENT.wftStarted, EVENT.wftCompleted));
    parts.regular_activities_ms.push(sumPairs(EVENT.actScheduled, EVENT.actCompleted));
    parts.http_and_update_round_trip_ms.push(ms - ((lastWftDone ? t(lastWftDone) : started) - started));
  }
  await connection.close();
  return Object.fromEntries(
    Object.entries(parts).map(([k, v]) => [
      k,
      round(
        pct(
          v.sort((a, b) => a - b),
          50,
        ),
      ),
    ]),
  );
}

/** The same activity sequence in one process: validate, check method, charge, write order + outbox. */
async function measureFloor(databaseUrl: string, latencyMs: number, tag: string) {
  const prisma = createPrisma(databaseUrl, 4);
  const sandbox = createSandboxGateway({ prisma, publicBaseUrl: 'http://127.0.0.1', webhookSecret: 'bench', latencyMs });
  const activities = createActivities({ prisma, gateways: createGatewayRegistry([sandbox]), clock: () => new Date(), tokenKeys: keys, publicBaseUrl: 'http://127.0.0.1' });
  const shop = await seedShop(prisma, tag);
  const steps: Record<'validate_and_check' | 'charge' | 'write_order', number[]> = { validate_and_check: [], charge: [], write_order: [] };
  const timed = async <T>(step: keyof typeof steps, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await work();
    steps[step].push(performance.now() - t0);
    return out;
  };
  const one = async () => {
    const { key, body } = shop.next();
    const input = { acceptKey: key, offerId: shop.offerId, token: body.token, cartId: body.cart_id, fingerprint: requestFingerprint(shop.offerId, body.token, body.cart_id) };
    const { plan } = await timed('validate_and_check', () => activities.prepareAccept(input));
    const charge = await timed('charge', () => activities.chargeOffSession(plan));
    if (charge.status !== 'succeeded') throw new Error(`floor charge ${charge.status}`);
    await timed('write_order', () => activities.writeOrder(input, plan, charge.chargeRef));
  };
  for (let i = 0; i < 20; i++) await one();
  const latencies: number[] = [];
  const cpuBefore = cpuMs(process.pid);
  const dbBefore = postgresCpuMs();
  const started = performance.now();
  for (let i = 0; i < FLOOR_COUNT; i++) {
    const t0 = performance.now();
    await one();
    latencies.push(performance.now() - t0);
    progress(`floor @${latencyMs}ms`, i + 1, FLOOR_COUNT);
  }
  const elapsed = (performance.now() - started) / 1000;
  // This process's CPU per accept: the activities' own work (and the database client), no Temporal.
  const cpuPerAccept = round((cpuMs(process.pid) - cpuBefore) / FLOOR_COUNT);
  // PostgreSQL's CPU for the same accepts (the floor's work is mostly the database's).
  const dbPerAccept = round((postgresCpuMs() - dbBefore) / FLOOR_COUNT);
  await prisma.$disconnect();
  const sorted = latencies.sort((a, b) => a - b);
  const stepP50 = Object.fromEntries(
    Object.entries(steps).map(([k, v]) => [
      `${k}_p50_ms`,
      round(
        pct(
          v.slice(20).sort((a, b) => a - b),
          50,
        ),
      ),
    ]),
  );
  return {
    gateway_latency_ms: latencyMs,
    p50_ms: round(pct(sorted, 50)),
    p95_ms: round(pct(sorted, 95)),
    rps: round(FLOOR_COUNT / elapsed),
    cpu_ms_per_accept: cpuPerAccept,
    database_cpu_ms_per_accept: dbPerAccept,
    steps: stepP50,
  };
}

/** One Temporal floor: its c=1 latency, its c=32 throughput and tail, and server + worker CPU per workflow at c=32. */
export interface WorkflowFloor {
  c1_p50_ms: number;
  c1_p95_ms: number;
  c32_rps: number;
  c32_p50_ms: number;
  c32_p99_ms: number;
  /** server + worker CPU per workflow at c=32 */
  cpu_ms_per_wf: number;
  cpu_ms_per_wf_split: { server: number; worker: number };
  /** where a c=1 answer's time goes, read from the histories as for the service (no HTTP here: the round trip is the update-with-start call alone) */
  c1_breakdown: Record<string, number>;
}

/**
 * The orchestrator's floors, on the same dev server: an empty workflow, and one that runs three
 * no-op local activities in its first task (the accept's happy-path shape), each answered by
 * update-with-start, through a worker in its own process (its CPU read apart). No database, no
 * gateway, no HTTP.
 */
async function measureWorkflowFloors(address: string, serverPid: number | undefined): Promise<{ empty_workflow: WorkflowFloor; three_local_activities: WorkflowFloor }> {
  const { WithStartWorkflowOperation } = await import('@temporalio/client');
  const { emptyUpdate } = await import('./lib/bench-empty-workflow.ts');
  const taskQueue = `bench-floor-${randomBytes(4).toString('hex')}`;
  const worker = launch('scripts/lib/bench-floor-worker.ts', { ...process.env, TEMPORAL_ADDRESS: address, BENCH_FLOOR_TASK_QUEUE: taskQueue });
  await waitForWorker(worker);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const pids = { server: serverPid, worker: worker.child.pid };
  const measure = async (workflowType: 'benchEmpty' | 'benchThreeLocal'): Promise<WorkflowFloor> => {
    const once = async (workflowId = `floor-${randomUUID()}`) => {
      const op = new WithStartWorkflowOperation(workflowType, { workflowId, taskQueue, workflowIdConflictPolicy: 'USE_EXISTING' });
      const t0 = performance.now();
      await client.workflow.executeUpdateWithStart(emptyUpdate, { startWorkflowOperation: op });
      return performance.now() - t0;
    };
    const n1 = Math.round(100 * SCALE);
    for (let i = 0; i < 10; i++) await once();
    const c1Samples: Array<{ key: string; ms: number }> = [];
    for (let i = 0; i < n1; i++) {
      const key = `floor-${randomUUID()}`;
      c1Samples.push({ key, ms: await once(key) });
      progress(`${workflowType} c=1`, i + 1, n1);
    }
    const c1 = c1Samples.map((s) => s.ms);
    const n32 = Math.round(400 * SCALE);
    const c32: number[] = [];
    let next = 0;
    const cpu = cpuPerItem(pids);
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next++ < n32) {
          c32.push(await once());
          progress(`${workflowType} c=32`, c32.length, n32);
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    const split = cpu(n32);
    c1.sort((a, b) => a - b);
    c32.sort((a, b) => a - b);
    return {
      c1_p50_ms: round(pct(c1, 50)),
      c1_p95_ms: round(pct(c1, 95)),
      c32_rps: round(n32 / elapsed),
      c32_p50_ms: round(pct(c32, 50)),
      c32_p99_ms: round(pct(c32, 99)),
      cpu_ms_per_wf: round(split.server + split.worker),
      cpu_ms_per_wf_split: { server: split.server, worker: split.worker },
      c1_breakdown: await breakdown(address, c1Samples),
    };
  };
  try {
    return { empty_workflow: await measure('benchEmpty'), three_local_activities: await measure('benchThreeLocal') };
  } finally {
    await worker.stop();
    await connection.close();
  }
}

async function main() {
  const fresh = process.env.DATABASE_URL ? null : await createFreshDatabase('ocart_bench');
  const databaseUrl = process.env.DATABASE_URL ?? fresh!.url;
  const temporalPort = await freePort();
  const temporal = await startTemporalDevServer({ port: temporalPort, uiPort: await freePort(), dbFile: null, quiet: true });
  const apiPort = await freePort();
  const base = `http://127.0.0.1:${apiPort}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TEMPORAL_TASK_QUEUE: 'ocart-bench',
    OCART_API_KEY: API_KEY,
    OCART_TOKEN_SECRETS: TOKEN_SECRETS,
    SANDBOX_WEBHOOK_SECRET: 'bench-sandbox-secret',
    PORT: String(apiPort),
    LOG_LEVEL: 'warn',
    OCART_RATE_LIMIT_IP_PER_MIN: '1000000',
    OCART_RATE_LIMIT_CART_PER_MIN: '1000000',
    DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE ?? '20',
  };
  const levels: LevelResult[] = [];
  const floors: Array<Awaited<ReturnType<typeof measureFloor>>> = [];
  const breakdowns: Array<Record<string, number>> = [];
  let forged: Awaited<ReturnType<typeof measureForgedRefusals>> | null = null;
  let workflowFloors: Awaited<ReturnType<typeof measureWorkflowFloors>>;
  const subscriberDb = createPrisma(databaseUrl, 1);
  let subscribers: BenchSubscribers | undefined;
  try {
    subscribers = await startBenchSubscribers(subscriberDb, SUBSCRIBERS);
    console.log(`bench: ${os.cpus().length} cores, gateway latencies ${LATENCIES.join(' and ')} ms, levels ${LEVELS.map((l) => `c=${l.concurrency}×${l.count}`).join(', ')}`);
    workflowFloors = await measureWorkflowFloors(env.TEMPORAL_ADDRESS!, temporal.child.pid);
    for (const latency of LATENCIES) {
      floors.push(await measureFloor(databaseUrl, latency, `floor${latency}`));
      // info: readiness waits for the worker's start line; it logs nothing per accept at this level.
      const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
      const worker = launch('worker/main.ts', { ...env, LOG_LEVEL: 'info', SANDBOX_LATENCY_MS: String(latency) }, undefined, profile);
      const api = launch('api/main.ts', env, undefined, API_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${API_PROFILE_DIR}`] : []);
      try {
        await waitForWorker(worker);
        await waitForApi(base, api);
        const prisma = createPrisma(databaseUrl, 2);
        const shop = await seedShop(prisma, `l${latency}`);
        await runLevel(base, shop, 8, WARMUP, `warm-up @${latency}ms`, {}, { prisma });
        if (latency === 0) forged = await measureForgedRefusals(base, shop);
        for (const level of LEVELS) {
          const pids = { server: temporal.child.pid, worker: worker.child.pid, api: api.child.pid };
          const { samples, ...r } = await runLevel(base, shop, level.concurrency, level.count, `c=${level.concurrency} @${latency}ms`, pids, { prisma });
          levels.push({ gateway_latency_ms: latency, ...r });
          if (level.concurrency === 1) breakdowns.push({ gateway_latency_ms: latency, ...(await breakdown(env.TEMPORAL_ADDRESS!, samples)) });
        }
        await prisma.$disconnect();
      } finally {
        await api.stop();
        await worker.stop();
      }
    }
  } finally {
    await subscribers?.stop();
    await subscriberDb.$disconnect();
    await temporal.stop();
    await fresh?.drop();
  }

  const floor0 = floors.find((f) => f.gateway_latency_ms === 0)!;
  const c1 = levels.find((l) => l.gateway_latency_ms === 0 && l.concurrency === 1)!;
  const c32 = levels.find((l) => l.gateway_latency_ms === 0 && l.concurrency === 32)!;
  const three = workflowFloors.three_local_activities;
  const cpuPerAccept = { server: c32.cpu_ms_per_accept.server, worker: c32.cpu_ms_per_accept.worker };
  // Beside the targets' server + worker: the API and PostgreSQL, which the Temporal floors do not use.
  const cpuBeside = { api: c32.cpu_ms_per_accept.api, database: c32.cpu_ms_per_accept.database };
  const report = {
    levels,
    // Every floor comes from this run, on this server with the same settings.
    server_settings: { dynamic_config: ONE_SHARD_DYNAMIC_CONFIG, persistence: 'in-memory SQLite (dev server default)' },
    floor: { p50_ms: floor0.p50_ms, rps: floor0.rps },
    floors: {
      /** the activity sequence called directly in one process: no Temporal, no HTTP */
      in_process: floors,
      /** an empty workflow by update-with-start: what Temporal alone costs here */
      empty_workflow: workflowFloors.empty_workflow,
      /** three no-op local activities in the first workflow task: the accept's happy-path shape, without its work */
      three_local_activities: three,
    },
    ratio_p50: round(c1.p50_ms / floor0.p50_ms),
    ratios: { c1_p50_vs_3la: round(c1.p50_ms / three.c1_p50_ms), c32_rps_vs_3la: round(c32.rps / three.c32_rps) },
    c32_p99_ms: c32.p99_ms,
    event_subscribers: SUBSCRIBERS,
    event_posts_received: subscribers?.received() ?? 0,
    /** server and worker CPU per accept at c=32 (gateway 0 ms), from /proc; api and database beside them */
    cpu_ms_per_accept: { ...cpuPerAccept, ...cpuBeside },
    cpu_vs_3la: round((cpuPerAccept.server + cpuPerAccept.worker) / three.cpu_ms_per_wf),
    /**
     * The best each ratio could be in this run, if Temporal cost an accept no more than the
     * three-local-activity floor: that floor plus the accept's own work, measured apart in the same
     * run (the in-process floor's time and CPU, its PostgreSQL CPU, and the API's CPU per accept).
     * At c=32 the machine is CPU-bound, so throughput goes as the inverse of all the CPU an accept costs.
     */
    bounds: {
      c1_p50_vs_3la_min: round((three.c1_p50_ms + floor0.p50_ms) / three.c1_p50_ms),
      c32_rps_vs_3la_max: round(three.cpu_ms_per_wf / (three.cpu_ms_per_wf + floor0.cpu_ms_per_accept + floor0.database_cpu_ms_per_accept + cpuBeside.api)),
      cpu_vs_3la_min: round((three.cpu_ms_per_wf + floor0.cpu_ms_per_accept) / three.cpu_ms_per_wf),
    },
    breakdown_c1: breakdowns,
    // Refused at the door (401 token_signature_invalid), 32 concurrent clients.
    forged_refusals_per_s: forged?.per_s ?? null,
    targets: {
      c1_p50_le_1_5x_3la: c1.p50_ms <= 1.5 * three.c1_p50_ms,
      c32_rps_ge_80pct_3la: c32.rps >= 0.8 * three.c32_rps,
      c32_p99_le_1500ms: c32.p99_ms <= 1500,
      cpu_le_1_25x_3la: cpuPerAccept.server + cpuPerAccept.worker <= 1.25 * three.cpu_ms_per_wf,
    },
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model,
      memory_gb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    generated_at: new Date().toISOString(),
  };
  console.log('\ngateway_ms  concurrency  count   p50_ms   p95_ms   p99_ms      rps  errors  cpu ms/accept (server, worker, api, database)');
  for (const l of levels) {
    console.log(
      `${String(l.gateway_latency_ms).padStart(10)}  ${String(l.concurrency).padStart(11)}  ${String(l.count).padStart(5)}  ${l.p50_ms.toFixed(1).padStart(7)}  ${l.p95_ms.toFixed(1).padStart(7)}  ${l.p99_ms.toFixed(1).padStart(7)}  ${l.rps.toFixed(1).padStart(7)}  ${String(l.errors).padStart(6)}  ${l.cpu_ms_per_accept.server}, ${l.cpu_ms_per_accept.worker}, ${l.cpu_ms_per_accept.api}, ${l.cpu_ms_per_accept.database}`,
    );
  }
  for (const l of levels)
    if (l.events)
      console.log(
        `events @${l.gateway_latency_ms}ms c=${l.concurrency}: outbox drained ${l.events.drain_after_last_answer_ms} ms after the last answer, lag p50 ${l.events.lag_p50_ms} ms, p99 ${l.events.lag_p99_ms} ms, not delivered ${l.events.not_delivered}`,
      );
  for (const f of floors)
    console.log(
      `floor (in-process) @${f.gateway_latency_ms}ms gateway: p50 ${f.p50_ms} ms, ${f.rps} accepts/s, CPU ${f.cpu_ms_per_accept} ms per accept (PostgreSQL ${f.database_cpu_ms_per_accept} ms beside it)`,
    );
  for (const f of floors)
    console.log(
      `  floor steps @${f.gateway_latency_ms}ms (p50): ${Object.entries(f.steps)
        .map(([k, v]) => `${k.replace('_p50_ms', '')} ${v} ms`)
        .join(', ')}`,
    );
  for (const b of breakdowns)
    console.log(
      `  full stack @${b.gateway_latency_ms}ms, c=1 (p50): ${Object.entries(b)
        .filter(([k]) => k !== 'gateway_latency_ms')
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  for (const [name, f] of Object.entries({ 'empty workflow': workflowFloors.empty_workflow, 'three local activities': three })) {
    console.log(
      `floor (${name}, update-with-start, same server): c=1 p50 ${f.c1_p50_ms} ms (p95 ${f.c1_p95_ms}), c=32 ${f.c32_rps}/s (p50 ${f.c32_p50_ms}, p99 ${f.c32_p99_ms} ms), ` +
        `CPU ${f.cpu_ms_per_wf} ms per workflow (server ${f.cpu_ms_per_wf_split.server}, worker ${f.cpu_ms_per_wf_split.worker})`,
    );
  }
  const serviceC1 = breakdowns.find((b) => b.gateway_latency_ms === 0);
  if (serviceC1)
    console.log(
      `  c=1 (p50), service vs three-local-activity floor: ${Object.entries(three.c1_breakdown)
        .filter(([k]) => k !== 'regular_activities_ms')
        .map(([k, v]) => `${k} ${serviceC1[k]} vs ${v}`)
        .join(', ')}`,
    );
  console.log(
    `service vs three-local-activity floor: c=1 p50 ${report.ratios.c1_p50_vs_3la}×, c=32 throughput ${report.ratios.c32_rps_vs_3la}×, ` +
      `CPU ${report.cpu_vs_3la}× (server ${cpuPerAccept.server} + worker ${cpuPerAccept.worker} ms per accept; API ${cpuBeside.api} and PostgreSQL ${cpuBeside.database} beside them); c=32 p99 ${c32.p99_ms} ms`,
  );
  console.log(
    `best possible in this run (the 3LA floor plus the accept's own work, measured apart): c=1 p50 ${report.bounds.c1_p50_vs_3la_min}×, ` +
      `c=32 throughput ${report.bounds.c32_rps_vs_3la_max}×, CPU ${report.bounds.cpu_vs_3la_min}×`,
  );
  console.log(`targets: ${JSON.stringify(report.targets)}`);
  mkdirSync(`${ROOT}reports`, { recursive: true });
  writeFileSync(`${ROOT}reports/bench.json`, `${JSON.stringify(report, null, 2)}\n`);
  const svg = benchSvg(
    levels,
    [
      { label: 'floor: 3 local activities', color: '#9467bd', c1_p50_ms: three.c1_p50_ms, c32_rps: three.c32_rps },
      { label: 'floor: empty workflow', color: '#8c564b', c1_p50_ms: workflowFloors.empty_workflow.c1_p50_ms, c32_rps: workflowFloors.empty_workflow.c32_rps },
      { label: 'floor: in-process', color: '#7f7f7f', c1_p50_ms: floor0.p50_ms, c32_rps: NaN },
    ],
    `OCart accept, full stack vs floors of the same run (${os.cpus().length} cores, ${report.generated_at.slice(0, 16)}Z, ${ONE_SHARD_DYNAMIC_CONFIG.join(' ')})`,
  );
  writeFileSync(`${ROOT}reports/bench.svg`, svg);
  console.log('wrote reports/bench.json and reports/bench.svg');
  if (levels.some((l) => l.errors > 0)) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
