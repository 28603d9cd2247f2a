/**
 * (funnel) Funnels under faults: buyers walk a 3-step funnel (an upsell; a downsell after a no; a
 * second upsell after a yes) with a double click on every step (two requests under the step's one
 * key, and a stale second tab under a key of its own with the same token). Between the steps the
 * worker is killed (SIGKILL) and started again, and the API restarts while every window is open.
 * Anomalies unless: one charge at the gateway per accepted step (none for a step said no to), no
 * step accepted twice, and exactly one `window_closed` per parent order, carrying the accepts.
 */
import { newKey } from '../helpers/ids.ts';
import { API_KEY, type ScenarioResult, type Stack, pool } from './harness.ts';

const PARENTS = Number(process.env.REL_FUNNEL_PARENTS ?? 12);
// A window waits for every accept it registered. One whose request died between registering and
// starting (the API restarted, a 5xx) has no record and no workflow: it counts as never started 15 s
// after it registered, asked every 10 s (activities/window.ts, workflows/postPurchaseWindow.ts).
const CLOSE_WAIT_MS = 60_000;

type Answer = 'yes' | 'no';
/** The buyer's answers to step 1 and step 2, by parent index. */
const PATHS: ReadonlyArray<[Answer, Answer]> = [
  ['yes', 'yes'],
  ['no', 'yes'],
  ['yes', 'no'],
];

interface NextStep {
  step_id: string;
  offer_id: string;
  token: string;
}

interface StepResult {
  offerId: string;
  answer: Answer;
  key: string;
  next: NextStep | null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** 5xx answers the clicks met (and retried under the same key): reported in the notes. */
let serverErrors = 0;

/** One click on a step: the request a page sends, retried like the script does (5xx, 503, dropped connection) under the same key. */
async function send(stack: Stack, kind: 'accept' | 'decline', offerId: string, key: string, body: unknown, deadlineMs = 120_000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const r = await fetch(`${stack.base}/wp-json/ocart/v1/upsells/${offerId}/${kind}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-idempotency-key': key },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(Math.max(1000, until - Date.now())),
      });
      const text = await r.text();
      const json = (() => {
        try {
          return JSON.parse(text) as Record<string, unknown>;
        } catch {
          return {};
        }
      })();
      const processing = r.status === 202 && json.status === 'processing';
      if (r.status >= 500) serverErrors++;
      if ((r.status < 500 && !processing) || Date.now() > until) return { status: r.status, json };
    } catch (err) {
      if (Date.now() > until) throw err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * A step, double-clicked: the page's key twice at once, and a stale tab's own key with the same
 * token. The page's key must end `succeeded` (yes) or `declined_by_buyer` (no), twice the same; the
 * stale tab must not be accepted.
 */
async function step(
  stack: Stack,
  cartId: string,
  offerId: string,
  token: string,
  answer: Answer,
  anomalies: string[],
  label: string,
  last: boolean,
): Promise<StepResult & { requests: number }> {
  const kind = answer === 'yes' ? 'accept' : 'decline';
  const key = newKey(`funnel-${kind}`);
  const staleKey = newKey('funnel-stale');
  const body = { token, cart_id: cartId };
  const [a, b] = await Promise.all([send(stack, kind, offerId, key, body), send(stack, kind, offerId, key, body)]);
  // The second tab comes after the page's own clicks were answered: the token is spent.
  const stale = await send(stack, 'accept', offerId, staleKey, body);
  const want = answer === 'yes' ? 'succeeded' : 'declined_by_buyer';
  for (const r of [a, b]) if (r.json.status !== want) anomalies.push(`${label} ${kind}: ${r.status} ${JSON.stringify(r.json).slice(0, 160)} (want ${want})`);
  if (JSON.stringify(a.json.next) !== JSON.stringify(b.json.next)) anomalies.push(`${label}: the double click answered two different next steps`);
  // After the last step the funnel has ended and its window may already be closed: that refusal is as good.
  const refusals = last ? ['token_replayed', 'window_closed'] : ['token_replayed'];
  if (stale.status !== 409 || !refusals.includes(String(stale.json.code)))
    anomalies.push(`${label}: the stale tab's accept answered ${stale.status} ${String(stale.json.code)} (want 409 ${refusals.join(' or ')})`);
  const next = (a.json.next ?? null) as NextStep | null;
  return { offerId, answer, key, next, requests: 3 };
}

export async function funnelUnderFaults(stack: Stack): Promise<ScenarioResult> {
  const anomalies: string[] = [];
  let requests = 0;
  serverErrors = 0;
  const tag = newKey('f').slice(2, 10);
  const offers = { up: `rel-fun-up-${tag}`, down: `rel-fun-down-${tag}`, second: `rel-fun-second-${tag}` };
  const amounts = { [offers.up]: 2500, [offers.down]: 900, [offers.second]: 1200 };
  for (const [id, amount] of Object.entries(amounts)) {
    await stack.shop('POST', '/wp-json/ocart/v1/offers', { id, product_id: `prod-${id}`, name: id, amount, currency: 'USD', active: true });
  }
  const funnel = await stack.shop('POST', '/wp-json/ocart/v1/funnels', {
    name: `Reliability funnel ${tag}`,
    entry: 'up',
    steps: [
      { id: 'up', offer_id: offers.up, on_accept: 'second', on_decline: 'down' },
      { id: 'down', offer_id: offers.down, on_accept: 'end', on_decline: 'end' },
      { id: 'second', offer_id: offers.second, on_accept: 'end', on_decline: 'end' },
    ],
  });
  const funnelId = String(funnel.id);
  const buyers = await pool(Array.from({ length: PARENTS }), 4, () => stack.seedBuyer());
  const entries = await pool(buyers, 4, async (b) => {
    requests++;
    const t = await stack.shop('POST', `/wp-json/ocart/v1/funnels/${funnelId}/tokens`, { order_id: b.externalId, cart_id: b.cartId });
    return { offerId: String(t.offer_id), token: String(t.token) };
  });

  // Step 1 for every buyer, double-clicked.
  const walks = buyers.map(() => [] as StepResult[]);
  await pool(buyers, 4, async (b, i) => {
    const r = await step(stack, b.cartId, entries[i]!.offerId, entries[i]!.token, PATHS[i % PATHS.length]![0], anomalies, `${b.externalId} step 1`, false);
    requests += r.requests;
    walks[i]!.push(r);
  });

  // Between the steps: the worker is killed and comes back, then the API restarts; every window is open.
  const killedPid = stack.worker.child.pid!;
  await stack.worker.kill();
  if (isAlive(killedPid)) anomalies.push(`the worker process ${killedPid} survived SIGKILL: the scenario killed something else`);
  await stack.startWorker();
  const apiPid = stack.api.child.pid!;
  await stack.restartApi();
  if (stack.api.child.pid === apiPid) anomalies.push('the API did not restart: the same process answers');
  await pool(buyers, 4, async (b) => {
    const w = await fetch(`${stack.base}/wp-json/ocart/v1/orders/${b.externalId}/window`, { headers: { authorization: `Bearer ${API_KEY}` } });
    requests++;
    const json = (await w.json()) as { status?: string };
    if (json.status !== 'open') anomalies.push(`${b.externalId}: window ${json.status} between the steps (want open)`);
  });

  // Step 2 from the `next` each step 1 answered, double-clicked.
  await pool(buyers, 4, async (b, i) => {
    const first = walks[i]![0];
    if (!first?.next) {
      anomalies.push(`${b.externalId}: step 1 answered no next step`);
      return;
    }
    const wantOffer = first.answer === 'yes' ? offers.second : offers.down;
    if (first.next.offer_id !== wantOffer) anomalies.push(`${b.externalId}: next after ${first.answer} was ${first.next.offer_id} (want ${wantOffer})`);
    const r = await step(stack, b.cartId, first.next.offer_id, first.next.token, PATHS[i % PATHS.length]![1], anomalies, `${b.externalId} step 2`, true);
    requests += r.requests;
    if (r.next !== null) anomalies.push(`${b.externalId}: step 2 answered a next step ${JSON.stringify(r.next)} (want null: the funnel ends)`);
    walks[i]!.push(r);
  });

  // Every window closes (the funnel ended) and fires window_closed exactly once.
  let completed = 0;
  let charges = 0;
  let orders = 0;
  await pool(buyers, 4, async (b, i) => {
    const until = Date.now() + CLOSE_WAIT_MS;
    let state: { status?: string; reason?: string; accepted?: Array<{ accept_id: string; offer_id: string }>; declined?: Array<{ decline_id: string }> } = {};
    for (;;) {
      const w = await fetch(`${stack.base}/wp-json/ocart/v1/orders/${b.externalId}/window`, { headers: { authorization: `Bearer ${API_KEY}` } });
      requests++;
      state = (await w.json()) as typeof state;
      if (state.status === 'closed' || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const walk = walks[i]!;
    if (state.status !== 'closed') {
      anomalies.push(`${b.externalId}: window still ${state.status} ${CLOSE_WAIT_MS / 1000} s after the funnel ended`);
      return;
    }
    if (state.reason !== 'funnel_ended') anomalies.push(`${b.externalId}: window closed by ${state.reason} (want funnel_ended)`);
    const yes = walk.filter((s) => s.answer === 'yes');
    const acceptedKeys = (state.accepted ?? []).map((a) => a.accept_id).sort();
    if (JSON.stringify(acceptedKeys) !== JSON.stringify(yes.map((s) => s.key).sort()))
      anomalies.push(`${b.externalId}: window accepted ${JSON.stringify(acceptedKeys)} (want ${JSON.stringify(yes.map((s) => s.key))})`);
    const acceptedOffers = (state.accepted ?? []).map((a) => a.offer_id);
    if (new Set(acceptedOffers).size !== acceptedOffers.length) anomalies.push(`${b.externalId}: a step accepted twice: ${JSON.stringify(acceptedOffers)}`);
    if ((state.declined ?? []).length !== walk.length - yes.length)
      anomalies.push(`${b.externalId}: ${(state.declined ?? []).length} declines in the window (want ${walk.length - yes.length})`);

    // The gateway's own ledger, by offer and parent: one succeeded charge per accepted step, none for a no.
    for (const s of walk) {
      const [row] = await stack.prisma.$queryRaw<Array<{ charged: number; paid: number }>>`
        SELECT (SELECT count(*)::int FROM sandbox_charges
                 WHERE metadata->>'offer_id' = ${s.offerId} AND metadata->>'parent_order_id' = ${b.externalId} AND status = 'succeeded') AS charged,
               (SELECT count(*)::int FROM payments WHERE idempotency_key = ${s.key}) AS paid`;
      const want = s.answer === 'yes' ? 1 : 0;
      charges += row?.charged ?? 0;
      orders += row?.paid ?? 0;
      if (row?.charged !== want) anomalies.push(`${b.externalId} ${s.offerId}: ${row?.charged ?? 0} charges at the gateway (want ${want})`);
      if (row?.paid !== want) anomalies.push(`${b.externalId} ${s.offerId}: ${row?.paid ?? 0} orders (want ${want})`);
    }
    completed++;
  });

  // Give a duplicate close every chance to show, then count the events per parent.
  await stack.quiesce();
  const rows = await stack.prisma.$queryRaw<Array<{ key: string; n: number }>>`
    SELECT accept_key AS key, count(*)::int AS n FROM outbox_events
    WHERE type = 'ocart/upsell/window_closed' AND accept_key = ANY(${buyers.map((b) => `window:${b.externalId}`)}) GROUP BY 1`;
  const events = new Map(rows.map((r) => [r.key, r.n]));
  for (const b of buyers) {
    const n = events.get(`window:${b.externalId}`) ?? 0;
    if (n !== 1) anomalies.push(`${b.externalId}: ${n} window_closed events (want exactly 1)`);
  }
  return {
    scenario: `(funnel) ${PARENTS} buyers walk a 3-step funnel, double clicks on every step, worker killed and API restarted between steps`,
    requests,
    completed,
    charges,
    orders,
    anomalies,
    notes: `${serverErrors} 5xx answers to the clicks, each retried under the same key (as the storefront script does)`,
  };
}
