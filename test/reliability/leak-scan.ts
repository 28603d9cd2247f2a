/**
 * Reliability scenario (g): a scan for leaked secrets, card data and one-click tokens. It reads every
 * column of every table and every line the processes logged. The runner calls it last, so it sees
 * what every scenario before it wrote; the ledger says what the hostile catalogue sent.
 */
import { looksLikeCardNumber } from '../../domain/card-data.ts';
import { parentOrderBody, parentOrderPath } from '../helpers/parent-order.ts';
import { API_KEY, SECRETS, type ScenarioResult, type Stack } from './harness.ts';
import type { SentLedger } from './ledger.ts';
import { letters, parseJson, sendRaw } from './raw-http.ts';
import { CARD_CANDIDATE, SECRET_NAMES, excerpt } from './redact.ts';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** A hex digest (sha256 fingerprints, md5s): 32 or more hex characters in one word. */
const HEX_DIGEST = /(?<![0-9a-z])[0-9a-f]{32,}(?![0-9a-z])/gi;
/** What comes right before the fractional digits of a JSON number (`"responseTime":12.3456789012345678`). */
const JSON_NUMBER_HEAD = /[:,[]\s*-?\d+\.$/;
const TOKEN_SHAPE = /[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{20,}/g;

function isOneClickToken(candidate: string): boolean {
  const payload = candidate.split('.')[0] ?? '';
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return !!claims && typeof claims === 'object' && 'jti' in claims && 'kid' in claims;
  } catch {
    return false;
  }
}

interface Hit {
  kind: 'secret' | 'card' | 'token';
  /** why a card-like hit is judged a false positive (reported, not counted) */
  falsePositive?: string;
  where: string;
  detail: string;
}

function scanText(text: string, where: string, tokensSent: ReadonlySet<string>): Hit[] {
  const hits: Hit[] = [];
  SECRETS.forEach((secret, i) => {
    const at = text.indexOf(secret);
    if (at >= 0) hits.push({ kind: 'secret', where, detail: `${SECRET_NAMES[i]}: ${excerpt(text, at, secret.length)}` });
  });
  if (looksLikeCardNumber(text)) {
    const spans = (re: RegExp) => [...text.matchAll(re)].map((m) => [m.index, m.index + m[0].length] as const);
    const uuids = spans(UUID);
    const digests = spans(HEX_DIGEST);
    let located = false;
    for (const m of text.matchAll(CARD_CANDIDATE)) {
      if (!looksLikeCardNumber(m[0])) continue;
      located = true;
      const inside = (list: ReadonlyArray<readonly [number, number]>) => list.some(([s, e]) => m.index >= s && m.index + m[0].length <= e);
      const falsePositive = inside(uuids)
        ? 'inside a UUID'
        : inside(digests)
          ? 'inside a hex digest of 32+ characters'
          : JSON_NUMBER_HEAD.test(text.slice(Math.max(0, m.index - 40), m.index)) && !/^[\d]/.test(text.slice(m.index + m[0].length))
            ? 'the fractional digits of a JSON number'
            : undefined;
      hits.push({ kind: 'card', where, detail: excerpt(text, m.index, m[0].length), ...(falsePositive ? { falsePositive } : {}) });
    }
    if (!located) hits.push({ kind: 'card', where, detail: `card-like value (not located): ${excerpt(text, 0, 0)}` });
  }
  for (const m of text.matchAll(TOKEN_SHAPE)) {
    if (isOneClickToken(m[0]) || tokensSent.has(m[0])) hits.push({ kind: 'token', where, detail: excerpt(text, m.index, m[0].length) });
  }
  return hits;
}

async function ensureCardNumberSent(stack: Stack, ledger: SentLedger): Promise<string | null> {
  if (ledger.cardNumbers.size > 0) return null;
  // Run on its own (REL_ONLY=g): send one, so the scan has something it must not find.
  const card = '4242 4242 4242 4242';
  ledger.cardNumbers.add(card);
  const body = parentOrderBody({ cartId: `cart-card-${letters(6)}` });
  body.line_items[0]!.name = card;
  const res = await sendRaw(stack.base, {
    method: 'PUT',
    path: parentOrderPath(`hostile-card-${letters(6)}`),
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return `the catalog had not run: sent one card number itself (answered ${res.status})`;
}

export async function runLeakScan(stack: Stack, ledger: SentLedger): Promise<ScenarioResult> {
  const anomalies: string[] = [];
  const notes: string[] = [];
  const selfSent = await ensureCardNumberSent(stack, ledger);
  if (selfSent) notes.push(selfSent);
  notes.push(`card numbers sent by the catalog: ${ledger.cardNumbers.size}; tokens sent: ${ledger.tokens.size}`);
  // Give the processes a moment to flush their last lines.
  await new Promise((r) => setTimeout(r, 1000));

  // The scanner must see what it is looking for, or a clean result means nothing.
  const probe = scanText(`{"msg":"probe","pan":"4242 4242 4242 4242","key":"${API_KEY}"}`, 'self-test', ledger.tokens);
  if (!probe.some((h) => h.kind === 'card' && !h.falsePositive) || !probe.some((h) => h.kind === 'secret')) {
    anomalies.push('self-test: the scanner missed a planted card number or secret');
  }

  const hits: Hit[] = [];
  let scanned = 0;
  let clean = 0;

  const tables = await stack.prisma.$queryRawUnsafe<Array<{ tablename: string }>>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
  let rows = 0;
  for (const { tablename } of tables) {
    const dump = await stack.prisma.$queryRawUnsafe<Array<{ j: string }>>(`SELECT row_to_json(t)::text AS j FROM "${tablename.replace(/"/g, '""')}" t`);
    dump.forEach((r, i) => {
      scanned++;
      rows++;
      const columns = JSON.parse(r.j) as Record<string, unknown>;
      const before = hits.length;
      for (const [column, value] of Object.entries(columns)) {
        if (value === null) continue;
        const text = typeof value === 'string' ? value : JSON.stringify(value);
        hits.push(...scanText(text, `db ${tablename}.${column} (row ${i + 1})`, ledger.tokens));
      }
      if (hits.length === before) clean++;
    });
  }

  const logLines: Record<string, number> = {};
  const redactedTokens: string[] = [];
  // Every process the suite ran: the first API and worker, and any replica a scenario started.
  for (const proc of Object.keys(stack.logs)) {
    const lines = stack.logLines(proc);
    logLines[proc] = lines.length;
    lines.forEach((line, i) => {
      scanned++;
      const found = scanText(line, `log ${proc}:${i + 1}`, ledger.tokens);
      if (found.length === 0) clean++;
      hits.push(...found);
      if (line.includes('[Redacted token]')) {
        const msg = parseJson(line)?.msg;
        redactedTokens.push(`${proc}:${i + 1} ${typeof msg === 'string' ? msg : excerpt(line, line.indexOf('[Redacted token]'), 16)}`);
      }
    });
  }
  if (!logLines.api) anomalies.push('no API log lines were captured: the log scan means nothing');
  if (!logLines.worker) anomalies.push('no worker log lines were captured: the log scan means nothing');

  const falsePositives = new Map<string, string[]>();
  for (const h of hits) {
    // Tokens in the database are not logs; they are reported, not counted (accepts keep a fingerprint, not the token).
    if (h.kind === 'token' && h.where.startsWith('db ')) notes.push(`one-click token stored in ${h.where}: ${h.detail}`);
    else if (h.falsePositive) falsePositives.set(h.falsePositive, [...(falsePositives.get(h.falsePositive) ?? []), `${h.where}: ${h.detail}`]);
    else anomalies.push(`${h.kind === 'secret' ? 'secret' : h.kind === 'card' ? 'card number' : 'one-click token'} in ${h.where}: ${h.detail}`);
  }
  // Luhn-valid digit runs that are not card data, by two narrow rules; listed, not hidden.
  for (const [why, where] of falsePositives) {
    notes.push(`${where.length} card-like false positives (${why}), not counted as anomalies, e.g. ${where.slice(0, 2).join(' | ')}`);
  }
  notes.push(
    redactedTokens.length
      ? `${redactedTokens.length} log lines had a token blanked by the log scrubber (something tried to log one), e.g. ${redactedTokens.slice(0, 3).join(' | ')}`
      : 'no log line had a token blanked by the log scrubber (nothing tried to log one)',
  );
  const replicaLines = Object.entries(logLines).filter(([name]) => name !== 'api' && name !== 'worker');
  notes.unshift(
    `scanned ${rows} rows in ${tables.length} tables, ${logLines.api ?? 0} API and ${logLines.worker ?? 0} worker log lines` +
      (replicaLines.length ? `, and ${replicaLines.map(([name, n]) => `${n} of ${name}`).join(', ')}` : ''),
  );

  return {
    scenario: '(g) no secrets, card data or tokens in the database or the logs',
    requests: scanned,
    completed: clean,
    charges: 0,
    orders: 0,
    anomalies,
    notes: notes.join('; '),
  };
}
