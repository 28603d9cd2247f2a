/** Fault scenarios (a)-(e): each drives the real stack and counts charges at the gateway and orders written. */
import { countAtStripe, ordersAndAnswers, stripeBuyers, stripeStack } from './gateway-faults.ts';
import { type ScenarioResult, type Stack, planDistinctAccepts, pool, sandboxTotals } from './harness.ts';

const N_STORM = Number(process.env.REL_STORM_N ?? 200);
const K_STORM = Number(process.env.REL_STORM_K ?? 5);

/** (a) N distinct accepts, each sent K times at once: N charges, N orders, identical responses per key. */
export async function duplicateStorm(stack: Stack): Promise<ScenarioResult> {
  const buyers = await pool(Array.from({ length: 20 }), 5, () => stack.seedBuyer());
  const accepts = await planDistinctAccepts(buyers, N_STORM, 'storm');
  const anomalies: string[] = [];
  let requests = 0;
  let completed = 0;
  await pool(accepts, 16, async (a) => {
    const replies = await Promise.all(Array.from({ length: K_STORM }, () => stack.accept(a.offerId, a.key, a.body)));
    requests += replies.length;
    const bodies = new Set(replies.map((r) => `${r.status} ${r.body}`));
    if (bodies.size !== 1) anomalies.push(`${a.key}: ${bodies.size} different responses: ${[...bodies].map((b) => b.slice(0, 60)).join(' | ')}`);
    if (replies.every((r) => r.status === 200)) completed++;
    else anomalies.push(`${a.key}: statuses ${replies.map((r) => r.status).join(',')}`);
    if (replies.filter((r) => !r.replayed).length !== 1) anomalies.push(`${a.key}: ${replies.filter((r) => !r.replayed).length} responses not marked as replays (want 1)`);
  });
  const totals = await sandboxTotals(
    stack,
    accepts.map((a) => a.key),
  );
  anomalies.push(...totals.anomalies);
  return {
    scenario: `(a) duplicate storm: ${N_STORM} accepts x ${K_STORM} concurrent copies`,
    requests,
    completed,
    charges: totals.charges,
    orders: totals.orders,
    anomalies,
  };
}

/** (d) PostgreSQL refuses and cuts connections for several seconds while accepts are in flight. */
export async function databaseOutage(stack: Stack): Promise<ScenarioResult> {
  const N = Number(process.env.REL_OUTAGE_N ?? 40);
  const M = Number(process.env.REL_OUTAGE_STRIPE_N ?? 10);
  const OUTAGE_MS = Number(process.env.REL_OUTAGE_MS ?? 6000);
  const buyers = await pool(Array.from({ length: 8 }), 4, () => stack.seedBuyer());
  const accepts = await planDistinctAccepts(buyers, N, 'outage');
  // Stripe charges answered while the database is down: their order writes are sure to meet the
  // outage after the money moved (the sandbox keeps its ledger in our database, so its charges
  // stop with it). Each must wait the outage out and end with its order, not a refund.
  const { server, sdk } = await stripeStack(stack);
  const stripeAccepts = await planDistinctAccepts(await stripeBuyers(stack, sdk, 4), M, 'outage-stripe');
  const anomalies: string[] = [];
  const answers = new Map<string, number>();
  let requests = 0;
  // Clients retry 5xx with the same key, as the storefront script does.
  const run = (a: (typeof accepts)[number]) =>
    stack.acceptUntilAnswered(a.offerId, a.key, a.body, 180_000).then((r) => {
      requests += r.attempts;
      answers.set(a.key, r.status);
      if (r.status !== 200) anomalies.push(`${a.key}: ended ${r.status} ${r.body.slice(0, 120)}`);
    });
  const logMark = stack.logs.worker.length;
  // Half the sandbox accepts start before the outage, half during it.
  const first = pool(accepts.slice(0, N / 2), 10, run);
  server.delayMs = 1500;
  const atStripe = pool(stripeAccepts, M, run);
  const until = Date.now() + 30_000;
  const made = () => stripeAccepts.filter((a) => server.intentsFor(a.key).length > 0).length;
  while (made() < M && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  const madeBeforeOutage = made();
  const outage = stack.databaseOutage(OUTAGE_MS).finally(() => {
    server.delayMs = 0;
  });
  await new Promise((r) => setTimeout(r, 1000));
  const second = pool(accepts.slice(N / 2), 10, run);
  await Promise.all([first, atStripe, second, outage]);
  // The outage must really have hit the services, or this scenario proves nothing: count the
  // activity attempts that failed (and that Temporal retried) while it lasted, and the order
  // writes among them.
  const workerLines = stack.logLines('worker', logMark);
  const failed = workerLines.filter((l) => /"level":"(warn|error)"/.test(l) && /"activityType"/.test(l));
  const orderWrites = failed.filter((l) => /"activityType":"writeOrder"/.test(l)).length;
  // Writes still failing after the local activity's attempts go on as a regular activity.
  const handedOver = workerLines.filter((l) => l.includes('retrying as a regular activity')).length;
  if (failed.length === 0) anomalies.push('no activity attempt failed during the outage: it did not reach the worker');
  if (madeBeforeOutage < M) anomalies.push(`only ${madeBeforeOutage} of ${M} Stripe charges were in flight when the outage began`);
  if (orderWrites === 0) anomalies.push('no order write met the outage after its charge: the case that matters was not exercised');
  const totals = await sandboxTotals(
    stack,
    accepts.map((a) => a.key),
  );
  const stripeKeys = stripeAccepts.map((a) => a.key);
  const stripeCount = countAtStripe(server, stripeKeys);
  const stripeOrders = await ordersAndAnswers(stack, stripeKeys, answers);
  anomalies.push(...totals.anomalies, ...stripeCount.anomalies, ...stripeOrders.anomalies.filter((a) => !/answered/.test(a)));
  return {
    notes:
      `${failed.length} activity attempts failed during the outage and were retried by Temporal, ${orderWrites} of them order writes after a Stripe charge` +
      ` (${handedOver} handed over to the regular-activity writer); ` +
      `clients resent ${requests - N - M} times`,
    scenario: `(d) database unreachable for ${OUTAGE_MS / 1000} s mid-run (${N} sandbox + ${M} Stripe accepts)`,
    requests,
    completed: [...answers.values()].filter((s) => s === 200).length,
    charges: totals.charges + stripeCount.charges,
    orders: totals.orders + stripeOrders.orders,
    anomalies,
  };
}

/** (e) The API restarts while workflows wait for SCA; webhooks that arrive afterwards still resume them. */
export async function apiRestartDuringSca(stack: Stack): Promise<ScenarioResult> {
  const N = Number(process.env.REL_SCA_N ?? 20);
  const buyers = await pool(Array.from({ length: N }), 5, () => stack.seedBuyer({ methodRef: 'pm_card_authenticationRequired' }));
  const accepts = await planDistinctAccepts(buyers, N, 'sca');
  const anomalies: string[] = [];
  let requests = 0;
  const pending: Array<{ key: string; cartId: string; chargeId: string }> = [];
  await pool(accepts, 5, async (a) => {
    const r = await stack.accept(a.offerId, a.key, a.body);
    requests++;
    const json = JSON.parse(r.body) as { status?: string; action?: { client_secret?: string } };
    if (r.status !== 202 || json.status !== 'requires_action') anomalies.push(`${a.key}: first answer ${r.status} ${r.body.slice(0, 80)}`);
    else pending.push({ key: a.key, cartId: a.cartId, chargeId: json.action!.client_secret!.replace(/_secret$/, '') });
  });

  await stack.api.stop();
  await stack.startApi();

  // The buyer approves at the bank; the bank's webhook reaches the new API process.
  await pool(pending, 5, async (p) => {
    const res = await fetch(`${stack.base}/sandbox/authenticate/${p.chargeId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ result: 'approve' }),
    });
    requests++;
    if (!res.ok) anomalies.push(`${p.key}: sandbox approve -> ${res.status}`);
  });
  let completed = 0;
  await pool(pending, 5, async (p) => {
    const until = Date.now() + 60_000;
    for (;;) {
      const s = await stack.status(p.key, p.cartId);
      requests++;
      if (s.json.status === 'succeeded') {
        completed++;
        return;
      }
      if (s.json.status !== 'requires_action' && s.json.status !== 'processing') {
        anomalies.push(`${p.key}: ended ${JSON.stringify(s.json.status)}`);
        return;
      }
      if (Date.now() > until) {
        anomalies.push(`${p.key}: still ${s.json.status} 60 s after the webhook`);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  const totals = await sandboxTotals(
    stack,
    accepts.map((a) => a.key),
  );
  anomalies.push(...totals.anomalies);
  return {
    scenario: `(e) API restarted while ${N} workflows wait for SCA`,
    requests,
    completed,
    charges: totals.charges,
    orders: totals.orders,
    anomalies,
  };
}
