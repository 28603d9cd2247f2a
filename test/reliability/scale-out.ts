/**
 * Scale-out: two API processes and two worker processes on one Temporal and one database, with a
 * round-robin client across the APIs. A duplicate storm while one API and one worker are SIGKILLed,
 * and a rate-limit burst spread across both APIs.
 */
import { randomBytes } from 'node:crypto';
import { type ExtraService, type ScenarioResult, type Stack, planDistinctAccepts, pool, sandboxTotals } from './harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * N accepts, each sent as K concurrent copies spread across both APIs (copy j of accept i starts at
 * API (i + j) mod 2 and, like the storefront script, retries a dropped connection or a 5xx with the
 * same key on the next API). Once a third of them have answered, the second API and the second
 * worker are SIGKILLed. Every accept completes once: charges == orders == accepts, and every copy
 * of an accept ends with the same answer.
 */
export async function scaleOutKills(stack: Stack): Promise<ScenarioResult> {
  const N = Number(process.env.REL_SCALE_N ?? 60);
  const K = Number(process.env.REL_SCALE_K ?? 3);
  const [api2, worker2] = await Promise.all([stack.scaleOut({ apis: 1 }).then((s) => s[0]!), stack.scaleOut({ workers: 1 }).then((s) => s[0]!)]);
  const bases = [stack.base, api2.base];
  const anomalies: string[] = [];
  try {
    const buyers = await pool(Array.from({ length: 12 }), 6, () => stack.seedBuyer());
    const accepts = await planDistinctAccepts(buyers, N, 'scale');
    let requests = 0;
    let answered = 0;
    let completed = 0;
    let retried = 0;
    const run = pool(accepts, 12, async (a, i) => {
      const copies = await Promise.all(
        Array.from({ length: K }, (_, j) => {
          const order = [bases[(i + j) % 2]!, bases[(i + j + 1) % 2]!];
          return stack.acceptUntilAnswered(a.offerId, a.key, a.body, 120_000, order);
        }),
      );
      answered++;
      for (const c of copies) {
        requests += c.attempts;
        retried += c.attempts - 1;
      }
      const bodies = new Set(copies.map((c) => `${c.status} ${c.body}`));
      if (bodies.size !== 1) anomalies.push(`${a.key}: ${bodies.size} different final answers: ${[...bodies].map((b) => b.slice(0, 60)).join(' | ')}`);
      if (copies.every((c) => c.status === 200)) completed++;
      else anomalies.push(`${a.key}: statuses ${copies.map((c) => c.status).join(',')}`);
      // The first answer may be the one lost with the killed API: at most one copy is not a replay.
      if (copies.filter((c) => !c.replayed).length > 1) anomalies.push(`${a.key}: ${copies.filter((c) => !c.replayed).length} answers not marked as replays (want at most 1)`);
    });
    const until = Date.now() + 60_000;
    while (answered < N / 3 && Date.now() < until) await sleep(20);
    const answeredAtKill = answered;
    const pids = [api2.proc.child.pid, worker2.proc.child.pid];
    await Promise.all([api2.proc.kill(), worker2.proc.kill()]);
    const survivors = pids.filter((pid) => alive(pid));
    await run;

    const keys = accepts.map((a) => a.key);
    const totals = await sandboxTotals(stack, keys);
    anomalies.push(...totals.anomalies);
    if (survivors.length) anomalies.push(`processes ${survivors.join(', ')} survived SIGKILL: the scenario killed something else`);
    if (answeredAtKill >= N) anomalies.push('every accept had answered before the kill: nothing was in flight');
    // Both replicas must really have served: accepts on the second API, workflow tasks on the
    // second worker (its identity, pid@host, in the histories), some finished by the first after the kill.
    const servedByApi2 = stack.logLines(api2.name).filter((l) => l.includes('/accept')).length;
    const client = await stack.temporalClient();
    const worker2Id = `${pids[1]}@`;
    let ranOnWorker2 = 0;
    let movedAfterKill = 0;
    await pool(keys, 8, async (k) => {
      const history = await client.workflow.getHandle(k).fetchHistory();
      const ids = (history.events ?? []).flatMap((e) => e.workflowTaskStartedEventAttributes?.identity ?? []);
      if (ids.some((id) => id.startsWith(worker2Id))) {
        ranOnWorker2++;
        if (ids.some((id) => !id.startsWith(worker2Id))) movedAfterKill++;
      }
    });
    if (servedByApi2 === 0) anomalies.push(`${api2.name} logged no accept: the round robin did not reach it`);
    if (ranOnWorker2 === 0) anomalies.push(`${worker2.name} ran no accept's workflow task: killing it proved nothing`);
    return {
      scenario: `(scale-out-kills) 2 APIs + 2 workers, ${N} accepts x ${K} copies round-robin; one API and one worker SIGKILLed mid-storm`,
      requests,
      completed,
      charges: totals.charges,
      orders: totals.orders,
      anomalies,
      notes:
        `killed ${api2.name} and ${worker2.name} after ${answeredAtKill} of ${N} accepts had answered; ${retried} copies were resent after a dropped connection or a 5xx; ` +
        `${servedByApi2} accept log lines from ${api2.name}; ${ranOnWorker2} accepts ran workflow tasks on ${worker2.name}, ${movedAfterKill} of them also on the surviving worker`,
    };
  } finally {
    await stack.scaleIn([api2, worker2]);
  }
}

/**
 * A burst of accepts from one client IP, beyond the per-IP limit, spread round-robin over two API
 * replicas with that limit: the 429s begin at the configured total, not at twice it. The replicas
 * trust X-Forwarded-For from a proxy on loopback (OCART_TRUST_PROXY=loopback, as behind a local
 * balancer), and the burst comes from an address no
 * other scenario uses, so it starts from a clean count wherever the limiter keeps it.
 */
export async function scaleOutRateLimit(stack: Stack): Promise<ScenarioResult> {
  const LIMIT = Number(process.env.REL_SCALE_LIMIT ?? 20);
  const BURST = 3 * LIMIT;
  const replicas: ExtraService[] = await stack.scaleOut({
    apis: 2,
    apiEnv: { OCART_RATE_LIMIT_IP_PER_MIN: String(LIMIT), OCART_RATE_LIMIT_CART_PER_MIN: '1000000', OCART_TRUST_PROXY: 'loopback' },
  });
  const anomalies: string[] = [];
  try {
    const buyers = await pool(Array.from({ length: 6 }), 6, () => stack.seedBuyer());
    const accepts = await planDistinctAccepts(buyers, BURST, 'burst');
    const clientIp = `198.51.100.${1 + (randomBytes(1)[0]! % 250)}`;
    const answers = await pool(accepts, 10, async (a, i) => {
      const base = replicas[i % replicas.length]!.base;
      const r = await stack.accept(a.offerId, a.key, a.body, 60_000, base, { 'x-forwarded-for': clientIp });
      return { ...r, key: a.key, base };
    });
    const limited = answers.filter((r) => r.status === 429);
    const through = answers.filter((r) => r.status !== 429);
    const codes = new Set(
      limited.map((r) => {
        try {
          return String((JSON.parse(r.body) as { code?: unknown }).code);
        } catch {
          return r.body.slice(0, 40);
        }
      }),
    );
    if (through.length !== LIMIT)
      anomalies.push(`${through.length} of ${BURST} accepts from one IP got past a per-IP limit of ${LIMIT} spread over 2 APIs (want ${LIMIT}, then 429s)`);
    if (limited.length && (codes.size !== 1 || !codes.has('rate_limited'))) anomalies.push(`429 answers carried codes ${[...codes].join(', ')} (want rate_limited)`);
    const perApi = replicas.map((r) => `${r.name}: ${answers.filter((a) => a.base === r.base && a.status !== 429).length} through`).join(', ');
    const totals = await sandboxTotals(
      stack,
      through.filter((r) => r.status === 200).map((r) => r.key),
    );
    return {
      scenario: `(scale-out-rate-limit) ${BURST} accepts from one IP over 2 APIs with ${LIMIT}/min per IP`,
      requests: BURST,
      completed: through.length,
      charges: totals.charges,
      orders: totals.orders,
      anomalies,
      notes: `${limited.length} x 429, ${through.length} through (${perApi}); statuses through: ${[...new Set(through.map((r) => r.status))].join(', ')}`,
    };
  } finally {
    await stack.scaleIn(replicas);
  }
}
