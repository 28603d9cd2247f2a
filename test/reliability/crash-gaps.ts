/**
 * (v) The worker SIGKILLed inside the accept's first workflow task, where validation, the method
 * check, the charge and the order write all run as local activities: once between validation and
 * the charge (sandbox gateway, its calls slowed down before they do any work), once between the
 * charge and the order write (Stripe, its answers delayed after the PaymentIntent is made). While
 * the worker is dead every offer is repriced and every token expires. The re-run must charge and
 * write with the plan validation recorded: each accept answered 200, exactly one charge at the
 * first price, exactly one order at that price, nothing refused, nothing refunded.
 */
import { parseSigningKeys, signToken } from '../../domain/token.ts';
import { countAtStripe, stripeBuyers, stripeStack } from './gateway-faults.ts';
import { newKey } from '../helpers/ids.ts';
import { pollUntil } from '../helpers/poll.ts';
import { type Buyer, type PlannedAccept, type ScenarioResult, type Stack, TOKEN_SECRET, pool } from './harness.ts';

const PRICE = 1500;
const NEW_PRICE = 2500;
/** Tokens live this long: long enough to validate under load, short enough to expire while the worker is dead. */
const TOKEN_TTL_S = 10;
const keys = parseSigningKeys(TOKEN_SECRET);

function shortLivedAccepts(buyers: readonly Buyer[], n: number, prefix: string): { accepts: PlannedAccept[]; expiresAt: number } {
  const now = new Date();
  const accepts = Array.from({ length: n }, (_, i) => {
    const b = buyers[i % buyers.length]!;
    const { token } = signToken({ offerId: b.offerId, orderId: b.externalId, cartId: b.cartId }, keys, now, TOKEN_TTL_S / 60);
    return { key: newKey(prefix), offerId: b.offerId, cartId: b.cartId, body: { token, cart_id: b.cartId } };
  });
  return { accepts, expiresAt: now.getTime() + TOKEN_TTL_S * 1000 };
}

/** Polls `what` every 25 ms until it holds; false if it never did within `timeoutMs`. */
const until = (what: () => Promise<boolean>, timeoutMs: number): Promise<boolean> => pollUntil(what, Boolean, timeoutMs, 25);

/** How far each accept's first run got, from the accept rows (the validated plan, the method check). */
async function progress(stack: Stack, keys: string[]) {
  const [row] = await stack.prisma.$queryRaw<Array<{ planned: bigint; checked: bigint }>>`
    SELECT count(validated_plan) AS planned, count(method_checked_at) AS checked FROM accepts WHERE idempotency_key = ANY(${keys})`;
  return { planned: Number(row?.planned ?? 0), checked: Number(row?.checked ?? 0) };
}

/** In the gap: every offer costs more, and the worker stays dead until every token has expired. */
async function repriceAndExpire(stack: Stack, offerIds: string[], expiresAt: number): Promise<void> {
  await stack.prisma.$executeRaw`UPDATE offers SET amount = ${NEW_PRICE}, updated_at = now() WHERE id = ANY(${offerIds})`;
  const wait = expiresAt + 1500 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

/** Payments (orders) at the first price, one per key; amounts at the gateway checked by the caller. */
async function paymentsAtFirstPrice(stack: Stack, keys: string[], answers: Map<string, number>) {
  const rows = await stack.prisma.$queryRaw<Array<{ key: string; amount: number }>>`
    SELECT idempotency_key AS key, amount FROM payments WHERE idempotency_key = ANY(${keys})`;
  const anomalies: string[] = [];
  for (const k of keys) {
    const mine = rows.filter((r) => r.key === k);
    if (mine.length !== 1) anomalies.push(`${k}: ${mine.length} orders (want 1)`);
    else if (mine[0]!.amount !== PRICE) anomalies.push(`${k}: order paid ${mine[0]!.amount} (want the validated price ${PRICE})`);
    if (answers.get(k) !== 200) anomalies.push(`${k}: answered ${answers.get(k)} (want 200)`);
  }
  return { orders: rows.length, anomalies };
}

/** A gap's figures: the accepts' answers, the gateway's charges, and the orders checked at the first price. */
async function gapOutcome(
  stack: Stack,
  { keys, answers, counter }: { keys: string[]; answers: Map<string, number>; counter: { requests: number } },
  anomalies: string[],
  charges: number,
  note: string,
) {
  const written = await paymentsAtFirstPrice(stack, keys, answers);
  return {
    requests: counter.requests,
    completed: [...answers.values()].filter((st) => st === 200).length,
    charges,
    orders: written.orders,
    anomalies: [...anomalies, ...written.anomalies],
    note,
  };
}

function killCheck(stack: Stack): () => string | null {
  const pid = stack.worker.child.pid!;
  return () => {
    try {
      process.kill(pid, 0);
      return `the worker process ${pid} survived SIGKILL: the scenario killed something else`;
    } catch {
      return null;
    }
  };
}

async function sendAll(stack: Stack, accepts: PlannedAccept[], answers: Map<string, number>, counter: { requests: number }) {
  return pool(accepts, accepts.length, async (a) => {
    const r = await stack.acceptUntilAnswered(a.offerId, a.key, a.body, 180_000);
    counter.requests += r.attempts;
    answers.set(a.key, r.status);
  });
}

/** Gap 1: validated (plan recorded; half of them method-checked too), nothing charged yet. Sandbox gateway. */
async function killBeforeCharge(stack: Stack, n: number) {
  // One parent per accept: a parent takes an offer once (offer_already_accepted otherwise).
  const buyers = await pool(Array.from({ length: n }), 5, () => stack.seedBuyer({ gateway: 'sandbox', methodRef: 'pm_card_visa' }));
  // Every sandbox call waits 2 s before it does anything: the check, then the charge.
  stack.setWorkerEnv({ SANDBOX_LATENCY_MS: '2000' });
  await stack.restartWorker();
  const { accepts, expiresAt } = shortLivedAccepts(buyers, n, 'gap-validated');
  const keys = accepts.map((a) => a.key);
  const answers = new Map<string, number>();
  const counter = { requests: 0 };
  // The first half is sent first and waits at the charge (method checked); the second half, sent
  // once the first has passed its check, waits at the check (validated only). Then the kill.
  const half = Math.ceil(n / 2);
  const first = sendAll(stack, accepts.slice(0, half), answers, counter);
  await until(async () => (await progress(stack, keys)).checked >= half, 30_000);
  const second = sendAll(stack, accepts.slice(half), answers, counter);
  await until(async () => (await progress(stack, keys)).planned === n, 30_000);
  const inFlight = Promise.all([first, second]);
  const atKill = await progress(stack, keys);
  const chargedAtKill = [...(await stack.sandboxCharges(keys)).values()].reduce((a, b) => a + b, 0);
  const survived = killCheck(stack);
  await stack.worker.kill();
  const anomalies: string[] = [];
  const s = survived();
  if (s) anomalies.push(s);
  if (atKill.planned === 0) anomalies.push('no accept had been validated when the worker was killed: the kill was not in the gap');
  if (chargedAtKill === n) anomalies.push('every accept was already charged when the worker was killed: the kill was not before the charge');
  await repriceAndExpire(
    stack,
    buyers.map((b) => b.offerId),
    expiresAt,
  );
  stack.setWorkerEnv({});
  await stack.startWorker();
  await inFlight;
  const charges = await stack.prisma.$queryRaw<Array<{ key: string; amount: number }>>`
    SELECT metadata->>'workflow_id' AS key, amount FROM sandbox_charges WHERE metadata->>'workflow_id' = ANY(${keys})`;
  for (const k of keys) {
    const mine = charges.filter((c) => c.key === k);
    if (mine.length !== 1) anomalies.push(`${k}: ${mine.length} sandbox charges (want 1)`);
    else if (mine[0]!.amount !== PRICE) anomalies.push(`${k}: charged ${mine[0]!.amount} (want the validated price ${PRICE})`);
  }
  const note = `gap 1 (sandbox): at the kill ${atKill.planned}/${n} validated, ${atKill.checked} method-checked, ${chargedAtKill} charged`;
  return gapOutcome(stack, { keys, answers, counter }, anomalies, charges.length, note);
}

/** Gap 2: charged at Stripe (answers held back), order not written. */
async function killAfterCharge(stack: Stack, n: number) {
  const { server, sdk } = await stripeStack(stack);
  const buyers = await stripeBuyers(stack, sdk, n);
  const { accepts, expiresAt } = shortLivedAccepts(buyers, n, 'gap-charged');
  const keys = accepts.map((a) => a.key);
  const before = server.intentsCreated;
  server.delayMs = 1500;
  const answers = new Map<string, number>();
  const counter = { requests: 0 };
  const inFlight = sendAll(stack, accepts, answers, counter);
  await until(async () => server.intentsCreated - before >= Math.ceil(n / 2), 30_000);
  const madeBeforeKill = server.intentsCreated - before;
  const ordersAtKill = [...(await stack.ordersFor(keys)).values()].reduce((a, b) => a + b, 0);
  const survived = killCheck(stack);
  await stack.worker.kill();
  server.delayMs = 0;
  const anomalies: string[] = [];
  const s = survived();
  if (s) anomalies.push(s);
  if (madeBeforeKill === 0) anomalies.push('no PaymentIntent had been made when the worker was killed: the kill was not after a charge');
  await repriceAndExpire(
    stack,
    buyers.map((b) => b.offerId),
    expiresAt,
  );
  await stack.startWorker();
  await inFlight;
  const atStripe = countAtStripe(server, keys);
  anomalies.push(...atStripe.anomalies);
  for (const k of keys) {
    for (const pi of server.intentsFor(k)) if (pi.amount !== PRICE) anomalies.push(`${k}: PaymentIntent for ${pi.amount} (want the validated price ${PRICE})`);
  }
  const note = `gap 2 (Stripe): ${madeBeforeKill} PaymentIntents made and ${ordersAtKill} orders written when the worker died`;
  return gapOutcome(stack, { keys, answers, counter }, anomalies, atStripe.charges, note);
}

export async function workerKilledInFirstTask(stack: Stack): Promise<ScenarioResult> {
  const n = Number(process.env.REL_GAP_N ?? 20);
  const a = await killBeforeCharge(stack, n);
  const b = await killAfterCharge(stack, n);
  return {
    scenario: `(v) worker SIGKILLed between validation and charge, and between charge and order write (${n} + ${n}); offers repriced and tokens expired meanwhile`,
    requests: a.requests + b.requests,
    completed: a.completed + b.completed,
    charges: a.charges + b.charges,
    orders: a.orders + b.orders,
    anomalies: [...a.anomalies, ...b.anomalies],
    notes: `${a.note}; ${b.note}`,
  };
}
