/** Fault scenarios (a)-(e): each drives the real stack and counts charges at the gateway and orders written. */
import { type ScenarioResult, type Stack, planAccepts, pool, sandboxTotals } from './harness.ts';

const N_STORM = Number(process.env.REL_STORM_N ?? 200);
const K_STORM = Number(process.env.REL_STORM_K ?? 5);

/** (a) N distinct accepts, each sent K times at once: N charges, N orders, identical responses per key. */
export async function duplicateStorm(stack: Stack): Promise<ScenarioResult> {
  const buyers = await pool(Array.from({ length: 20 }), 5, () => stack.seedBuyer());
  const accepts = planAccepts(buyers, N_STORM, 'storm');
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
  const totals = await sandboxTotals(stack, accepts.map((a) => a.key));
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
  const OUTAGE_MS = Number(process.env.REL_OUTAGE_MS ?? 6000);
  const buyers = await pool(Array.from({ length: 8 }), 4, () => stack.seedBuyer());
  const accepts = planAccepts(buyers, N, 'outage');
  const anomalies: string[] = [];
  let completed = 0;
  let requests = 0;
  // Half start before the outage, half during it; clients retry 5xx with the same key, as the storefront script does.
  const run = (a: (typeof accepts)[number]) =>
    stack.acceptUntilAnswered(a.offerId, a.key, a.body, 180_000).then((r) => {
      requests += r.attempts;
      if (r.status === 200) completed++;
      else anomalies.push(`${a.key}: ended ${r.status} ${r.body.slice(0, 120)}`);
    });
  const logMark = { api: stack.logs.api.length, worker: stack.logs.worker.length };
  const first = pool(accepts.slice(0, N / 2), 10, run);
  await new Promise((r) => setTimeout(r, 300));
  const outage = stack.databaseOutage(OUTAGE_MS);
  await new Promise((r) => setTimeout(r, 1000));
  const second = pool(accepts.slice(N / 2), 10, run);
  await Promise.all([first, second, outage]);
  // The outage must really have hit the services, or this scenario proves nothing: count the
  // activity attempts that failed (and that Temporal retried) while it lasted.
  const failedAttempts = stack.logs.worker
    .slice(logMark.worker)
    .join('')
    .split('\n')
    .filter((l) => /"level":"(warn|error)"/.test(l) && /"activityType"/.test(l)).length;
  const hits = failedAttempts;
  if (hits === 0) anomalies.push('no activity attempt failed during the outage: it did not reach the worker');
  const totals = await sandboxTotals(stack, accepts.map((a) => a.key));
  anomalies.push(...totals.anomalies);
  return {
    notes: `${hits} activity attempts failed during the outage and were retried by Temporal; clients resent ${requests - N} times`,
    scenario: `(d) database unreachable for ${OUTAGE_MS / 1000} s mid-run`,
    requests,
    completed,
    charges: totals.charges,
    orders: totals.orders,
    anomalies,
  };
}

/** (e) The API restarts while workflows wait for SCA; webhooks that arrive afterwards still resume them. */
export async function apiRestartDuringSca(stack: Stack): Promise<ScenarioResult> {
  const N = Number(process.env.REL_SCA_N ?? 20);
  const buyers = await pool(Array.from({ length: N }), 5, () => stack.seedBuyer({ methodRef: 'pm_card_authenticationRequired' }));
  const accepts = planAccepts(buyers, N, 'sca');
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
        anomalies.push(`${p.key}: ended ${s.json.status}`);
        return;
      }
      if (Date.now() > until) {
        anomalies.push(`${p.key}: still ${s.json.status} 60 s after the webhook`);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  const totals = await sandboxTotals(stack, accepts.map((a) => a.key));
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
