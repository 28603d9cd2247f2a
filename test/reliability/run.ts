/**
 * npm run test:reliability: faults, storms and hostile input on the real stack. Prints a table of
 * figures, writes reports/reliability.json, and exits non-zero on any anomaly.
 *   REL_ONLY=a,d              run only some scenarios (by id)
 *   tsx run.ts ten-tabs d     the same, ids as arguments
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { ROOT } from '../../scripts/lib/services.ts';
import { type ScenarioResult, Stack } from './harness.ts';
import { closeStripe, gatewayFaults, workerKilledMidCharge } from './gateway-faults.ts';
import { runHostileCatalog } from './hostile.ts';
import { runLeakScan } from './leak-scan.ts';
import { SentLedger } from './ledger.ts';
import { offerOncePerOrder } from './offer-once.ts';
import { apiRestartDuringSca, databaseOutage, duplicateStorm } from './scenarios.ts';
import { forgedTokenFlood, lateWebhookAfterClose, stripeCreateDuringVoid } from './money-safety.ts';
import { scaleOutKills, scaleOutRateLimit } from './scale-out.ts';
import { workerKilledInFirstTask } from './crash-gaps.ts';
import { funnelUnderFaults } from './funnel.ts';

/** A scenario gets the stack and the run's ledger (what was sent that must not leak); it keeps no state of its own. */
type Scenario = { id: string; run: (stack: Stack, ledger: SentLedger) => Promise<ScenarioResult> };

const SCENARIOS: Scenario[] = [
  { id: 'a', run: duplicateStorm },
  { id: 'b', run: workerKilledMidCharge },
  { id: 'c', run: gatewayFaults },
  { id: 'd', run: databaseOutage },
  { id: 'e', run: apiRestartDuringSca },
  // Money safety: one offer once, forged floods, voids in flight, late webhooks, scale-out.
  // One offer, one charge per parent order: twenty buyers, ten tabs each.
  { id: 'h', run: offerOncePerOrder },
  { id: 'forged-flood', run: forgedTokenFlood },
  { id: 'stripe-void', run: stripeCreateDuringVoid },
  { id: 'late-webhook', run: lateWebhookAfterClose },
  { id: 'scale-out-kills', run: scaleOutKills },
  { id: 'scale-out-rate-limit', run: scaleOutRateLimit },
  // The worker killed inside the accept's first workflow task (validation | charge | order write).
  { id: 'v', run: workerKilledInFirstTask },
  // Funnels: double clicks on every step, the worker killed and the API restarted between steps.
  { id: 'funnel', run: funnelUnderFaults },
  // Hostile input, then the leak scan over everything the others wrote and logged: keep them last.
  { id: 'f', run: runHostileCatalog },
  { id: 'g', run: runLeakScan },
];

function table(results: ScenarioResult[]): string {
  const head = ['scenario', 'requests', 'completed', 'charges', 'orders', 'anomalies', 'seconds'];
  const rows = results.map((r) => [r.scenario, r.requests, r.completed, r.charges, r.orders, r.anomalies.length, r.seconds ?? ''].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The services' error lines since a mark, newest last, at most 20, each cut to 400 characters. */
function errorLines(stack: Stack, mark: Record<string, number>): string[] {
  // Every process, the replicas a scenario started (and perhaps killed) included.
  const lines = Object.keys(stack.logs).flatMap((name) =>
    stack
      .logLines(name, mark[name] ?? 0)
      .filter((l) => /"level":"(error|fatal)"/.test(l))
      .map((l) => `${name}: ${l.slice(0, 400)}`),
  );
  return lines.slice(-20);
}

async function main(): Promise<void> {
  const picked = [...(process.env.REL_ONLY?.split(',') ?? []), ...process.argv.slice(2)].map((s) => s.trim()).filter(Boolean);
  const only = picked.length ? picked : null;
  const unknown = only?.filter((id) => !SCENARIOS.some((s) => s.id === id)) ?? [];
  if (unknown.length) throw new Error(`no scenario ${unknown.join(', ')}; the scenarios are ${SCENARIOS.map((s) => s.id).join(', ')}`);
  const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.id));
  const stack = new Stack();
  const ledger = new SentLedger();
  const results: ScenarioResult[] = [];
  const started = Date.now();
  try {
    console.log('reliability: starting the stack (Temporal dev server, PostgreSQL, worker and API processes)');
    await stack.start();
    for (const s of scenarios) {
      const stillPending = await stack.quiesce();
      if (stillPending > 0) console.log(`reliability: ${stillPending} events still waiting for delivery before (${s.id})`);
      console.log(`reliability: running (${s.id})...`);
      const t0 = Date.now();
      const logMark = stack.logMark();
      let r: ScenarioResult;
      try {
        r = await s.run(stack, ledger);
      } catch (err) {
        r = {
          scenario: `(${s.id}) crashed`,
          requests: 0,
          completed: 0,
          charges: 0,
          orders: 0,
          anomalies: [`scenario threw: ${err instanceof Error ? (err.stack ?? err.message) : JSON.stringify(err)}`],
        };
      }
      r.seconds = Math.round((Date.now() - t0) / 100) / 10;
      results.push(r);
      console.log(`  ${r.scenario}: ${r.completed} completed, ${r.charges} charges, ${r.orders} orders, ${r.anomalies.length} anomalies (${r.seconds} s)`);
      for (const a of r.anomalies.slice(0, 10)) console.log(`    ANOMALY ${a}`);
      if (r.notes) console.log(`    note: ${r.notes}`);
      // A failed scenario shows what the services said while it ran: CI output is all there is to go on.
      if (r.anomalies.length > 0) for (const line of errorLines(stack, logMark)) console.log(`    LOG ${line}`);
    }
  } finally {
    await stack.stop();
    await closeStripe();
  }
  console.log(`\n${table(results)}\n`);
  const anomalies = results.reduce((n, r) => n + r.anomalies.length, 0);
  mkdirSync(`${ROOT}reports`, { recursive: true });
  const reportFile = 'reports/reliability.json';
  writeFileSync(
    `${ROOT}${reportFile}`,
    `${JSON.stringify({ generated_at: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000), anomalies, scenarios: results }, null, 2)}\n`,
  );
  console.log(`wrote ${reportFile}; ${anomalies} anomalies in ${Math.round((Date.now() - started) / 1000)} s`);
  console.log(`reliability: ${results.length - results.filter((r) => r.anomalies.length).length} passed, ${results.filter((r) => r.anomalies.length).length} failed`);
  // Exit now: the stopped services' sockets and the gateway test servers must not keep us waiting.
  process.exit(anomalies > 0 ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
