/**
 * The reliability suite's stack: the Temporal dev server, a fresh PostgreSQL database, and the
 * worker and API as separate processes, which scenarios may kill, restart and starve. scaleOut adds
 * more API and worker processes on the same Temporal, task queue and database (a deployment with
 * replicas); scaleIn stops them again.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { createPrisma, type Db } from '../../db/client.ts';
import { signToken, parseSigningKeys } from '../../domain/token.ts';
import { createFreshDatabase, type FreshDatabase, ADMIN_URL } from '../../scripts/lib/fresh-db.ts';
import { freePort } from '../../scripts/lib/ports.ts';
import { launch, waitForApi, waitForWorker, type ServiceProcess } from '../../scripts/lib/services.ts';
import { startTemporalDevServer, type RunningProcess } from '../../scripts/lib/temporal-dev.ts';
import { newKey, uid } from '../helpers/ids.ts';
import { pollUntil } from '../helpers/poll.ts';
import { parentOrderBody, parentOrderPath } from '../helpers/parent-order.ts';

export const API_KEY = `rel_${randomBytes(16).toString('hex')}`;
export const TOKEN_SECRET = `rel:${randomBytes(32).toString('hex')}`;
export const SANDBOX_WEBHOOK_SECRET = `whsec_rel_${randomBytes(12).toString('hex')}`;
export const SECRETS = [API_KEY, TOKEN_SECRET.split(':')[1]!, SANDBOX_WEBHOOK_SECRET];
const keys = parseSigningKeys(TOKEN_SECRET);

export interface ScenarioResult {
  scenario: string;
  requests: number;
  completed: number;
  charges: number;
  orders: number;
  anomalies: string[];
  notes?: string;
  seconds?: number;
}

export type ServiceKind = 'api' | 'worker';

/** One more API or worker process started by scaleOut: its log is `stack.logs[name]`. */
export interface ExtraService {
  name: string;
  kind: ServiceKind;
  proc: ServiceProcess;
  /** the API's own http://127.0.0.1:<port> (empty for a worker) */
  base: string;
}

export class Stack {
  api!: ServiceProcess;
  worker!: ServiceProcess;
  prisma!: Db;
  base = '';
  /** Output of each process by name: `api` and `worker` (across restarts), then `api-2`, `worker-2`, ... */
  logs: { api: string[]; worker: string[]; [name: string]: string[] } = { api: [], worker: [] };
  /** Processes started by scaleOut and not yet stopped. */
  extras: ExtraService[] = [];
  private temporal!: RunningProcess;
  private temporalAddress = '';
  private client: Client | null = null;
  private extraCount = { api: 1, worker: 1 };

  /** A service's log lines (non-empty), from a chunk index taken earlier as `logs[proc].length`. */
  logLines(proc: string, fromChunk = 0): string[] {
    return (this.logs[proc] ?? [])
      .slice(fromChunk)
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '');
  }

  /** Where each process's log stands now, to read only what follows with logLines. */
  logMark(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.logs).map(([name, chunks]) => [name, chunks.length]));
  }
  private db!: FreshDatabase;
  private env: NodeJS.ProcessEnv = {};
  private workerEnv: NodeJS.ProcessEnv = {};

  async start(extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    this.db = await createFreshDatabase('ocart_reliability');
    const temporalPort = await freePort();
    this.temporal = await startTemporalDevServer({ port: temporalPort, uiPort: await freePort(), dbFile: null, quiet: true });
    this.temporalAddress = `127.0.0.1:${temporalPort}`;
    const port = await freePort();
    this.base = `http://127.0.0.1:${port}`;
    this.env = {
      ...process.env,
      DATABASE_URL: this.db.url,
      TEMPORAL_ADDRESS: this.temporalAddress,
      TEMPORAL_TASK_QUEUE: 'ocart-reliability',
      OCART_API_KEY: API_KEY,
      OCART_TOKEN_SECRETS: TOKEN_SECRET,
      SANDBOX_WEBHOOK_SECRET,
      PORT: String(port),
      PUBLIC_BASE_URL: this.base,
      LOG_LEVEL: 'info',
      OCART_RATE_LIMIT_IP_PER_MIN: '1000000',
      OCART_RATE_LIMIT_CART_PER_MIN: '1000000',
      DATABASE_POOL_SIZE: '20',
      ...extraEnv,
    };
    this.workerEnv = { ...this.env };
    this.prisma = createPrisma(this.db.url, 4);
    await this.startWorker();
    await this.startApi();
  }

  get databaseName(): string {
    return this.db.name;
  }

  /** Worker settings for the next (re)start, e.g. a gateway pointed at a test server. */
  setWorkerEnv(extra: NodeJS.ProcessEnv): void {
    this.workerEnv = { ...this.env, ...extra };
  }

  setApiEnv(extra: NodeJS.ProcessEnv): void {
    this.env = { ...this.env, ...extra };
  }

  /**
   * Launches one API or worker process logging into `logs[name]`. The process is returned at once
   * (so a failed start can still be stopped), with a promise that settles when it is ready.
   */
  private spawn(kind: ServiceKind, name: string, env: NodeJS.ProcessEnv): { proc: ServiceProcess; ready: Promise<void> } {
    const log = (this.logs[name] ??= []);
    const proc = launch(kind === 'api' ? 'api/main.ts' : 'worker/main.ts', env, (s) => log.push(s));
    const ready = kind === 'api' ? waitForApi(`http://127.0.0.1:${env.PORT}`, proc) : waitForWorker(proc);
    return { proc, ready };
  }

  async startWorker(): Promise<void> {
    const { proc, ready } = this.spawn('worker', 'worker', this.workerEnv);
    this.worker = proc;
    await ready;
  }

  async startApi(): Promise<void> {
    const { proc, ready } = this.spawn('api', 'api', this.env);
    this.api = proc;
    await ready;
  }

  async restartWorker(): Promise<void> {
    await this.worker.stop();
    await this.startWorker();
  }

  async restartApi(): Promise<void> {
    await this.api.stop();
    await this.startApi();
  }

  /**
   * Starts more API and worker processes beside the first ones, all at once: the same Temporal,
   * task queue, database and settings (the public base URL stays the first API's, as behind a load
   * balancer), each API on its own port. `apiEnv` is laid over the APIs' settings (a rate limit,
   * say). Returns them in start order; each is also in `extras` until scaleIn stops it.
   */
  async scaleOut(o: { apis?: number; workers?: number; apiEnv?: NodeJS.ProcessEnv }): Promise<ExtraService[]> {
    const planned: Array<{ kind: ServiceKind; env: NodeJS.ProcessEnv; base: string }> = [];
    for (let i = 0; i < (o.apis ?? 0); i++) {
      const port = await freePort();
      planned.push({ kind: 'api', env: { ...this.env, ...o.apiEnv, PORT: String(port) }, base: `http://127.0.0.1:${port}` });
    }
    for (let i = 0; i < (o.workers ?? 0); i++) planned.push({ kind: 'worker', env: this.workerEnv, base: '' });
    const started = planned.map(({ kind, env, base }) => {
      const name = `${kind}-${++this.extraCount[kind]}`;
      const { proc, ready } = this.spawn(kind, name, env);
      const service: ExtraService = { name, kind, proc, base };
      this.extras.push(service);
      return { service, ready };
    });
    await Promise.all(started.map((s) => s.ready));
    return started.map((s) => s.service);
  }

  /** Stops extra processes (all of them by default); one already killed just leaves the list. */
  async scaleIn(services: readonly ExtraService[] = this.extras): Promise<void> {
    const going = [...services];
    this.extras = this.extras.filter((e) => !going.includes(e));
    await Promise.all(going.map((e) => e.proc.stop().catch(() => undefined)));
  }

  /** A Temporal client on the stack's server, to see which workflows exist (connected once). */
  async temporalClient(): Promise<Client> {
    this.client ??= new Client({ connection: await Connection.connect({ address: this.temporalAddress }) });
    return this.client;
  }

  async stop(): Promise<void> {
    await this.scaleIn();
    await this.client?.connection.close().catch(() => undefined);
    await this.api?.stop().catch(() => undefined);
    await this.worker?.stop().catch(() => undefined);
    await this.prisma?.$disconnect().catch(() => undefined);
    await this.temporal?.stop().catch(() => undefined);
    await this.db?.drop().catch(() => undefined);
  }

  /**
   * Waits (at most `timeoutMs`) until no event is waiting for delivery: earlier scenarios' deliveries
   * retry with backoff after faults, and their writes must not land inside the next scenario's window.
   */
  async quiesce(timeoutMs = 60_000): Promise<number> {
    return pollUntil(
      async () => {
        const [row] = await this.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM outbox_events WHERE status = 'pending'`;
        return Number(row?.n ?? 0);
      },
      (pending) => pending === 0,
      timeoutMs,
      250,
    );
  }

  /** Cuts every connection to the database and refuses new ones for `ms`. */
  async databaseOutage(ms: number): Promise<void> {
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE "${this.db.name}" ALLOW_CONNECTIONS false`);
      const until = Date.now() + ms;
      while (Date.now() < until) {
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [this.db.name]);
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await admin.query(`ALTER DATABASE "${this.db.name}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }
  }

  async shop(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** A paid parent order and an offer; `token()` mints a fresh single-use token for it. */
  async seedBuyer(o: { gateway?: string; methodRef?: string; customerRef?: string; currency?: string; email?: string } = {}) {
    const tag = uid();
    const externalId = `rel-${tag}`;
    const cartId = `cart-${tag}`;
    const currency = o.currency ?? 'USD';
    await this.shop(
      'PUT',
      parentOrderPath(externalId),
      parentOrderBody({ cartId, currency, gateway: o.gateway, methodRef: o.methodRef, customerRef: o.customerRef, email: o.email }),
    );
    const newOffer = async () => {
      const offer = await this.shop('POST', '/wp-json/ocart/v1/offers', { product_id: 'prod_socks', name: 'Socks', amount: 1500, currency, active: true });
      const offerId = String(offer.id);
      return { offerId, token: () => signToken({ offerId, orderId: externalId, cartId }, keys, new Date(), 30).token };
    };
    const first = await newOffer();
    return {
      externalId,
      cartId,
      ...first,
      /** Another offer on the same parent order: one parent accepts each offer once. */
      newOffer,
    };
  }

  /** One accept call, to the first API unless `base` names another (a replica from scaleOut). */
  accept(offerId: string, key: string, body: unknown, timeoutMs = 120_000, base = this.base, headers: Record<string, string> = {}) {
    return fetch(`${base}/wp-json/ocart/v1/upsells/${offerId}/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-idempotency-key': key, ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    }).then(async (r) => ({ status: r.status, body: await r.text(), replayed: r.headers.get('idempotent-replayed') === 'true' }));
  }

  /**
   * Accepts like the storefront script: on a 5xx or a dropped connection, retry with the same key.
   * With several `bases` (API replicas behind a round-robin balancer) each attempt goes to the next.
   */
  async acceptUntilAnswered(offerId: string, key: string, body: unknown, deadlineMs = 120_000, bases: readonly string[] = [this.base]) {
    const until = Date.now() + deadlineMs;
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        const base = bases[(attempts - 1) % bases.length] ?? this.base;
        const r = await this.accept(offerId, key, body, Math.max(1000, until - Date.now()), base);
        // A 5xx that carries the accept's own final answer is replayed as-is on every retry: stop.
        // "Still processing" (202) is not an answer yet: ask again with the same key.
        if ((r.status < 500 && !isProcessing(r.status, r.body)) || Date.now() > until || isFinalAnswer(r.body)) return { ...r, attempts };
      } catch (err) {
        if (Date.now() > until) throw err;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async status(key: string, cartId: string) {
    const r = await fetch(`${this.base}/wp-json/ocart/v1/upsells/accepts/${key}?cart_id=${cartId}`);
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  }

  /** Charges the sandbox gateway made for these accepts (its ledger is the gateway's own count). */
  async sandboxCharges(keys: string[]): Promise<Map<string, number>> {
    const rows = await this.prisma.$queryRaw<Array<{ key: string; n: bigint }>>`
      SELECT metadata->>'workflow_id' AS key, count(*) AS n FROM sandbox_charges
      WHERE metadata->>'workflow_id' = ANY(${keys}) GROUP BY 1`;
    return new Map(rows.map((r) => [r.key, Number(r.n)]));
  }

  /** Orders (child orders, or merged lines) written for these accepts. */
  async ordersFor(keys: string[]): Promise<Map<string, number>> {
    const rows = await this.prisma.$queryRaw<Array<{ key: string; n: bigint }>>`
      SELECT idempotency_key AS key, count(*) AS n FROM payments WHERE idempotency_key = ANY(${keys}) GROUP BY 1`;
    return new Map(rows.map((r) => [r.key, Number(r.n)]));
  }
}

export type Buyer = Awaited<ReturnType<Stack['seedBuyer']>>;

export interface PlannedAccept {
  key: string;
  offerId: string;
  cartId: string;
  body: { token: string; cart_id: string };
}

/**
 * n accepts with fresh keys and tokens, spread over the buyers in turn, each on an offer of its own
 * (the buyer's first offer, then new ones): a parent order accepts each offer once, so repeating an
 * offer would make every accept after the first a refusal rather than a charge.
 */
export async function planDistinctAccepts(buyers: readonly Buyer[], n: number, prefix: string): Promise<PlannedAccept[]> {
  return pool(Array.from({ length: n }), 8, async (_, i) => {
    const b = buyers[i % buyers.length]!;
    const offer = i < buyers.length ? b : await b.newOffer();
    return { key: newKey(prefix), offerId: offer.offerId, cartId: b.cartId, body: { token: offer.token(), cart_id: b.cartId } };
  });
}

/** n accepts with fresh keys and tokens, spread over the buyers in turn (a buyer's offer repeats: see planDistinctAccepts). */
export function planAccepts(buyers: readonly Buyer[], n: number, prefix: string): PlannedAccept[] {
  return Array.from({ length: n }, (_, i) => {
    const b = buyers[i % buyers.length]!;
    return { key: newKey(prefix), offerId: b.offerId, cartId: b.cartId, body: { token: b.token(), cart_id: b.cartId } };
  });
}

/** Sandbox charges and orders for these keys, with an anomaly for any key without exactly one of each. */
export async function sandboxTotals(stack: Stack, keys: string[]) {
  const charges = await stack.sandboxCharges(keys);
  const orders = await stack.ordersFor(keys);
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return { charges: sum(charges), orders: sum(orders), anomalies: checkOnePerKey(keys, charges, orders) };
}

function isProcessing(status: number, body: string): boolean {
  if (status !== 202) return false;
  try {
    return (JSON.parse(body) as { status?: unknown }).status === 'processing';
  } catch {
    return false;
  }
}

function isFinalAnswer(body: string): boolean {
  try {
    // The workflow's own error answers (what the API says while it cannot reach Temporal differs).
    const json = JSON.parse(body) as { status?: unknown; accept_id?: unknown; code?: unknown };
    return json.status === 'error' && typeof json.accept_id === 'string' && (json.code === 'internal_error' || json.code === 'gateway_error');
  } catch {
    return false;
  }
}

/** Exactly one charge and one order per key, or an anomaly line naming the key. */
export function checkOnePerKey(keys: string[], charges: Map<string, number>, orders: Map<string, number>, what = 'charge'): string[] {
  const anomalies: string[] = [];
  for (const k of keys) {
    if ((charges.get(k) ?? 0) !== 1) anomalies.push(`${k}: ${charges.get(k) ?? 0} ${what}s (want 1)`);
    if ((orders.get(k) ?? 0) !== 1) anomalies.push(`${k}: ${orders.get(k) ?? 0} orders (want 1)`);
  }
  return anomalies;
}

export async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}
