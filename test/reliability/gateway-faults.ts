/**
 * (b) and (c): the worker talks to the local Stripe-compatible server through the real stripe SDK,
 * and that server counts the PaymentIntents made for each accept.
 */
import Stripe from 'stripe';
import { startStripeServer, type StripeTestServer } from '../gateways/stripe-server.ts';
import { type ScenarioResult, type Stack, planDistinctAccepts, pool } from './harness.ts';
import { startStripeHoldProxy, type StripeHoldProxy } from './stripe-hold.ts';

export const STRIPE_WEBHOOK_SECRET = 'whsec_reliability_0123456789';

let server: StripeTestServer | null = null;
let proxy: StripeHoldProxy | null = null;

/**
 * Starts the Stripe server once and points the worker and API at it, through the hold proxy (which
 * passes everything through until a scenario asks it to hold a create). Both processes restart, so
 * the API verifies Stripe webhooks whichever scenario comes first.
 */
export async function stripeStack(stack: Stack): Promise<{ server: StripeTestServer; sdk: Stripe; proxy: StripeHoldProxy }> {
  if (!server || !proxy) {
    server = await startStripeServer();
    proxy = await startStripeHoldProxy(server.url);
    const env = {
      STRIPE_SECRET_KEY: server.secretKey,
      STRIPE_WEBHOOK_SECRET,
      STRIPE_API_BASE: proxy.url,
      STRIPE_TIMEOUT_MS: '2000',
    };
    stack.setWorkerEnv(env);
    stack.setApiEnv(env);
    await Promise.all([stack.restartWorker(), stack.restartApi()]);
  }
  const url = new URL(server.url);
  return { server, proxy, sdk: new Stripe(server.secretKey, { host: url.hostname, port: Number(url.port), protocol: 'http', maxNetworkRetries: 2 }) };
}

export async function closeStripe(): Promise<void> {
  await proxy?.close();
  await server?.close();
  proxy = null;
  server = null;
}

export async function stripeBuyers(stack: Stack, sdk: Stripe, n: number) {
  return pool(Array.from({ length: n }), 4, async () => {
    const customer = await sdk.customers.create({ email: 'buyer@example.com' });
    const method = await sdk.paymentMethods.attach('pm_card_visa', { customer: customer.id });
    const buyer = await stack.seedBuyer({ gateway: 'stripe', customerRef: customer.id, methodRef: method.id });
    return { ...buyer, customerRef: customer.id, methodRef: method.id };
  });
}

export function countAtStripe(server: StripeTestServer, keys: string[]) {
  const anomalies: string[] = [];
  let charges = 0;
  for (const k of keys) {
    const intents = server.intentsFor(k);
    const succeeded = intents.filter((pi) => pi.status === 'succeeded').length;
    const refunded = intents.filter((pi) => pi.amountRefunded > 0).length;
    charges += succeeded;
    if (intents.length !== 1 || succeeded !== 1) anomalies.push(`${k}: ${intents.length} PaymentIntents, ${succeeded} succeeded (want 1 and 1)`);
    if (refunded > 0) anomalies.push(`${k}: refunded at Stripe (want a charge that stands, with its order)`);
  }
  return { charges, anomalies };
}

export async function ordersAndAnswers(stack: Stack, keys: string[], answers: Map<string, number>) {
  const orders = await stack.ordersFor(keys);
  const anomalies: string[] = [];
  for (const k of keys) {
    if ((orders.get(k) ?? 0) !== 1) anomalies.push(`${k}: ${orders.get(k) ?? 0} orders (want 1)`);
    if (answers.get(k) !== 200) anomalies.push(`${k}: answered ${answers.get(k)} (want 200)`);
  }
  return { orders: [...orders.values()].reduce((a, b) => a + b, 0), anomalies };
}

/** (b) SIGKILL the worker while the gateway is slow to answer charges, then start it again. */
export async function workerKilledMidCharge(stack: Stack): Promise<ScenarioResult> {
  const N = Number(process.env.REL_KILL_N ?? 30);
  const { server, sdk } = await stripeStack(stack);
  const buyers = await stripeBuyers(stack, sdk, 10);
  const accepts = await planDistinctAccepts(buyers, N, 'kill');
  const before = server.intentsCreated;
  server.delayMs = 1500;
  const answers = new Map<string, number>();
  let requests = 0;
  const inFlight = pool(accepts, N, async (a) => {
    const r = await stack.acceptUntilAnswered(a.offerId, a.key, a.body, 180_000);
    requests += r.attempts;
    answers.set(a.key, r.status);
  });
  // Kill the worker once charges have reached the gateway, while their answers are still delayed.
  const waitUntil = Date.now() + 30_000;
  while (server.intentsCreated - before < Math.ceil(N / 3) && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 20));
  const madeBeforeKill = server.intentsCreated - before;
  const killedPid = stack.worker.child.pid!;
  await stack.worker.kill();
  const stillAlive = (() => {
    try {
      process.kill(killedPid, 0);
      return true;
    } catch {
      return false;
    }
  })();
  server.delayMs = 0;
  await stack.startWorker();
  await inFlight;
  const keys = accepts.map((a) => a.key);
  const atStripe = countAtStripe(server, keys);
  const written = await ordersAndAnswers(stack, keys, answers);
  const anomalies = [...atStripe.anomalies, ...written.anomalies];
  if (madeBeforeKill === 0) anomalies.push('no charge had reached the gateway when the worker was killed: the kill was not mid-charge');
  if (stillAlive) anomalies.push(`the worker process ${killedPid} survived SIGKILL: the scenario killed something else`);
  return {
    scenario: `(b) worker SIGKILLed with ${N} charges in flight, then restarted`,
    requests,
    completed: [...answers.values()].filter((s) => s === 200).length,
    charges: atStripe.charges,
    orders: written.orders,
    anomalies,
    notes: `${madeBeforeKill} PaymentIntents were already made at Stripe when the worker died`,
  };
}

/** (c) About 30% of gateway calls fail: a 500, a dropped connection, or an answer slower than the client waits. */
export async function gatewayFaults(stack: Stack): Promise<ScenarioResult> {
  const N = Number(process.env.REL_FAULTS_N ?? 60);
  const { server, sdk } = await stripeStack(stack);
  const buyers = await stripeBuyers(stack, sdk, 10);
  const accepts = await planDistinctAccepts(buyers, N, 'faults');
  const firstRequest = server.requests().length;
  server.chaos = { rate: 0.3, delayMs: 3000 };
  const answers = new Map<string, number>();
  let requests = 0;
  try {
    await pool(accepts, 8, async (a) => {
      const r = await stack.acceptUntilAnswered(a.offerId, a.key, a.body, 180_000);
      requests += r.attempts;
      answers.set(a.key, r.status);
    });
  } finally {
    server.chaos = null;
  }
  const calls = server.requests().slice(firstRequest);
  const faulted = calls.filter((c) => c.fault).length;
  const keys = accepts.map((a) => a.key);
  const atStripe = countAtStripe(server, keys);
  const written = await ordersAndAnswers(stack, keys, answers);
  const anomalies = [...atStripe.anomalies, ...written.anomalies];
  if (calls.length === 0 || faulted / calls.length < 0.15) anomalies.push(`only ${faulted} of ${calls.length} gateway calls faulted: the faults did not happen as planned`);
  return {
    scenario: `(c) ${Math.round((faulted / Math.max(1, calls.length)) * 100)}% of ${calls.length} Stripe calls failed (500 / reset / timeout)`,
    requests,
    completed: [...answers.values()].filter((s) => s === 200).length,
    charges: atStripe.charges,
    orders: written.orders,
    anomalies,
    notes: `${faulted} faulted gateway calls: ${calls.filter((c) => c.fault === 'error').length} x 500, ${calls.filter((c) => c.fault === 'drop').length} resets, ${calls.filter((c) => c.fault === 'delay').length} timeouts`,
  };
}
