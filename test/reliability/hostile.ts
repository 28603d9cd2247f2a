/**
 * Reliability scenario (f): hostile input. runHostileCatalog sends the catalogue's hostile requests
 * (hostile-catalogue.ts) to a running stack. Every one must get a clear 4xx with the stable error
 * code from the contract (a signed webhook replay gets its 200 acknowledgement), no charge, and no
 * change to any business table. The `accepts` table is the one exception by design: a refusal that
 * reached the workflow is recorded (status rejected or declined) so that its replay answers the
 * same; those records are counted and checked apart. The leak scan (g) is in leak-scan.ts.
 */
import { looksLikeCardNumber } from '../../domain/card-data.ts';
import { SECRETS, type ScenarioResult, type Stack } from './harness.ts';
import { LONG, buildFixture, hostileCases, type HostileCase } from './hostile-catalogue.ts';
import type { SentLedger } from './ledger.ts';
import { parseJson, sendRaw, type RawRequest, type RawResponse } from './raw-http.ts';
import { redact } from './redact.ts';
import { chargesFor, describeChanges, snapshot, waitForAcceptRecord, waitForQuiet, type AcceptRow, type AllowedRows } from './snapshots.ts';

export interface CaseReport {
  name: string;
  request: string;
  expected: string;
  actual: string;
  ok: boolean;
  accept_record?: string;
  problems: string[];
}

function describeRequest(r: RawRequest): string {
  const cut = (s: string) => (s.length > 90 ? `${s.slice(0, 60)}…(${s.length} chars)` : s);
  // Key material never goes into the report, not even a near miss: only the scheme and the length.
  const headers = Object.entries(r.headers ?? {})
    .filter(([k]) => k !== 'content-length')
    .map(([k, v]) => `${k}: ${k === 'authorization' ? `${v.split(' ')[0]} <${v.length} chars>` : cut(v)}`)
    .join('; ');
  const body = r.body === undefined ? '' : ` body ${cut(Buffer.isBuffer(r.body) ? r.body.toString('utf8') : r.body)}`;
  return redact(`${r.method} ${cut(r.path)}${headers ? ` [${headers}]` : ''}${body}`);
}

function checkAnswer(c: HostileCase, res: RawResponse): string[] {
  const problems: string[] = [];
  const json = parseJson(res.text);
  if (res.status !== c.status) problems.push(`HTTP ${res.status}, want ${c.status}`);
  if (!json) problems.push(`body is not a JSON object: ${res.text.slice(0, 120)}`);
  else if (c.code === null) {
    if (json.received !== true) problems.push(`body ${res.text.slice(0, 120)}, want {received: true}`);
  } else {
    if (json.code !== c.code) problems.push(`code ${String(json.code)}, want ${c.code}`);
    const wantStatus = c.status === 402 ? 'declined' : 'rejected';
    if (json.status !== wantStatus) problems.push(`status ${String(json.status)}, want ${wantStatus}`);
  }
  // Nothing hostile or secret is echoed back.
  if (res.text.includes(LONG.slice(0, 300))) problems.push('the answer echoes the 10k input');
  if (looksLikeCardNumber(res.text)) problems.push('the answer contains a card-number-like value');
  if (SECRETS.some((s) => res.text.includes(s))) problems.push('the answer contains a secret');
  return problems;
}

export async function runHostileCatalog(stack: Stack, ledger: SentLedger): Promise<ScenarioResult> {
  const anomalies: string[] = [];
  const notes: string[] = [];
  const fixture = await buildFixture(stack);
  notes.push(fixture.sqlLiteralCheck, `1 legitimate charge made before the window (accept ${fixture.legitKey})`);
  const cases = hostileCases(fixture, ledger);

  const quiet = await waitForQuiet(stack);
  if (!quiet.quiet) notes.push('the business tables were still changing when the window opened (other workflows running); stray-write lines may include their writes');
  const windowStart = quiet.snap;
  const [{ n: acceptsBefore } = { n: 0 }] = await stack.prisma.$queryRawUnsafe<Array<{ n: number }>>('SELECT count(*)::int AS n FROM accepts');

  let requests = 0;
  const reports: CaseReport[] = [];
  let before = windowStart;
  for (const c of cases) {
    const problems: string[] = [];
    let actual = '';
    let first: RawResponse | null = null;
    for (let i = 0; i < (c.times ?? 1); i++) {
      let res: RawResponse;
      try {
        res = await sendRaw(stack.base, c.request);
      } catch (err) {
        problems.push(`request failed: ${(err as Error).message}`);
        break;
      }
      requests++;
      const json = parseJson(res.text);
      const got = `${res.status} ${json && typeof json.code === 'string' ? json.code : json?.received === true ? `received (handled: ${String(json.handled)})` : '-'}`;
      actual = i === 0 ? got : `${actual}, then ${got}`;
      problems.push(...checkAnswer(c, res).map((p) => (i === 0 ? p : `send #${i + 1}: ${p}`)));
      first ??= res;
    }

    let record: AcceptRow | null = null;
    if (c.acceptKey) {
      record = await waitForAcceptRecord(stack, c.acceptKey);
      if (!record) problems.push('no accept record (a replay could not answer the same)');
      else {
        const want = c.status === 402 ? 'declined' : 'rejected';
        if (record.status !== want) problems.push(`accept record status ${record.status}, want ${want}`);
        if (record.error_code !== c.code) problems.push(`accept record code ${String(record.error_code)}, want ${String(c.code)}`);
        if (!record.completed) problems.push('accept record never completed');
      }
      // The same request again must get the same answer, marked as a replay.
      if (first) {
        try {
          const again = await sendRaw(stack.base, c.request);
          requests++;
          if (again.status !== first.status || again.text !== first.text) problems.push(`replay answered ${again.status} ${again.text.slice(0, 100)}`);
          if (again.headers['idempotent-replayed'] !== 'true') problems.push('replay lacks Idempotent-Replayed: true');
        } catch (err) {
          problems.push(`replay failed: ${(err as Error).message}`);
        }
      }
      const charged = await chargesFor(stack, c.acceptKey);
      if (charged) problems.push(`${charged} sandbox charge(s) for ${c.acceptKey}`);
    }

    const after = await snapshot(stack);
    const stray = await describeChanges(stack, before, after, c.allowed);
    problems.push(...stray.map((s) => `stray write: ${s}`));
    before = after;

    const ok = problems.length === 0;
    problems.forEach((p, i) => (problems[i] = redact(p)));
    if (!ok) anomalies.push(`${c.name}: ${problems.join('; ')}`);
    reports.push({
      name: c.name,
      request: describeRequest(c.request),
      expected: `${c.status} ${c.code ?? 'received'}`,
      actual,
      ok,
      ...(record ? { accept_record: `${record.status}/${record.error_code ?? '-'}` } : {}),
      problems,
    });
  }

  // The whole window, once more, after letting anything late land.
  await new Promise((r) => setTimeout(r, 2000));
  const windowEnd = await snapshot(stack);
  const allowedOverall: AllowedRows = {};
  const burnKeys = cases.filter((c) => c.allowed?.burned_tokens && c.acceptKey).map((c) => c.acceptKey!);
  if (burnKeys.length) allowedOverall.burned_tokens = (row) => burnKeys.some((k) => row.includes(k));
  const overall = await describeChanges(stack, windowStart, windowEnd, allowedOverall);
  anomalies.push(...overall.map((s) => redact(`whole catalog: stray write: ${s}`)));

  // Accept records made in the window: only the refusals that reached the workflow, each without a charge.
  const caseKeys = new Set(cases.flatMap((c) => (c.acceptKey ? [c.acceptKey] : [])));
  const fresh = await stack.prisma.$queryRawUnsafe<Array<{ idempotency_key: string; status: string; error_code: string | null }>>(
    "SELECT idempotency_key, status, error_code FROM accepts WHERE idempotency_key LIKE 'hostile-%' AND idempotency_key <> $1",
    fixture.legitKey,
  );
  const [{ n: acceptsAfter } = { n: 0 }] = await stack.prisma.$queryRawUnsafe<Array<{ n: number }>>('SELECT count(*)::int AS n FROM accepts');
  for (const r of fresh) {
    if (caseKeys.has(r.idempotency_key)) continue;
    const from = cases.find((c) => c.request.headers?.['x-idempotency-key'] === r.idempotency_key)?.name ?? 'an unknown request';
    anomalies.push(`${from}: left accept record ${r.idempotency_key} (${r.status}/${r.error_code}), but should have been refused before the workflow`);
  }
  const byStatus = new Map<string, number>();
  for (const r of fresh) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  const windowCharges = (windowEnd.get('sandbox_charges')?.n ?? 0) - (windowStart.get('sandbox_charges')?.n ?? 0);
  const windowOrders = (windowEnd.get('orders')?.n ?? 0) - (windowStart.get('orders')?.n ?? 0);
  if (windowCharges !== 0) anomalies.push(`whole catalog: ${windowCharges} sandbox charges made during the window`);

  const burned = (windowEnd.get('burned_tokens')?.n ?? 0) - (windowStart.get('burned_tokens')?.n ?? 0);
  const passed = reports.filter((r) => r.ok).length;
  notes.unshift(
    `${cases.length} cases, ${passed} as expected; accepts table: ${acceptsAfter - acceptsBefore} new records by design (${[...byStatus]
      .map(([s, n]) => `${n} ${s}`)
      .join(', ')}), ${caseKeys.size} refusals reached the workflow; ${burned} token(s) burned by design (payment_method_unusable passes every check first)`,
  );
  const result: ScenarioResult & { cases: CaseReport[] } = {
    scenario: `(f) hostile input catalog: ${cases.length} cases`,
    requests,
    completed: passed,
    charges: windowCharges,
    orders: windowOrders,
    anomalies,
    notes: notes.join('; '),
    cases: reports,
  };
  return result;
}
