/**
 * Reliability scenarios (f) and (g): hostile input, and a scan for leaked secrets and card data.
 *
 * (f) runHostileCatalog sends a table of hostile requests to a running stack. Every one must get a
 *     clear 4xx with the stable error code from the contract (a signed webhook replay gets its 200
 *     acknowledgement), no charge, and no change to any business table. The `accepts` table is the
 *     one exception by design: a refusal that reached the workflow is recorded (status rejected or
 *     declined) so that its replay answers the same; those records are counted and checked apart.
 * (g) runLeakScan reads every column of every table and every line both processes logged, looking
 *     for card numbers, the stack's secrets and one-click tokens. The runner calls it last.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { looksLikeCardNumber } from '../../domain/card-data.ts';
import { parseSigningKeys, signToken, type TokenSubject } from '../../domain/token.ts';
import { signSandboxWebhook } from '../../gateways/sandbox.ts';
import { API_KEY, SANDBOX_WEBHOOK_SECRET, SECRETS, TOKEN_SECRET, type ScenarioResult, type Stack } from './harness.ts';

const V1 = '/wp-json/ocart/v1';
const SIGNING_KEYS = parseSigningKeys(TOKEN_SECRET);

/** Tables whose rows a refused request must leave exactly as they were (accepts is checked apart). */
export const BUSINESS_TABLES = [
  'orders',
  'line_items',
  'payments',
  'saved_payment_methods',
  'offers',
  'burned_tokens',
  'outbox_events',
  'sandbox_charges',
  'settings',
  'event_subscribers',
] as const;
type BusinessTable = (typeof BUSINESS_TABLES)[number];

const SQL_OR = "' OR 1=1 --";
const SQL_DROP = '"; DROP TABLE orders; --';
const LONG = 'A'.repeat(10_000);

/** Card numbers the catalog sent (Luhn-valid test numbers), so the leak scan knows it has something to find. */
const cardNumbersSent = new Set<string>();
/** Every one-click token the catalog sent, to look for verbatim in the logs. */
const tokensSent = new Set<string>();

// ---------------------------------------------------------------- HTTP, byte for byte

interface RawRequest {
  method: string;
  /** sent as is: already percent-encoded where needed */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * node:http rather than fetch: fetch normalises paths (`..`) and refuses non-ASCII header bytes,
 * and a hostile client does neither.
 */
function sendRaw(base: string, req: RawRequest, timeoutMs = 60_000): Promise<RawResponse> {
  const url = new URL(base);
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...req.headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    r.on('timeout', () => r.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    r.on('error', reject);
    // The server may answer (413) and close before reading the whole body: that is fine.
    r.end(body);
  });
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Letters only, so the keys we add never look like a card number to the leak scan. */
function letters(n: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz';
  return Array.from(randomBytes(n), (b) => alphabet[b % 26]).join('');
}

// ---------------------------------------------------------------- database snapshots

interface TableState {
  n: number;
  hash: string;
  rows: string[];
}
type Snapshot = Map<string, TableState>;

async function snapshot(stack: Stack): Promise<Snapshot> {
  const out: Snapshot = new Map();
  for (const table of BUSINESS_TABLES) {
    const [row] = await stack.prisma.$queryRawUnsafe<Array<{ n: number; hash: string; rows: string[] }>>(
      `SELECT count(*)::int AS n,
              coalesce(md5(string_agg(t::text, '' ORDER BY t::text)), '') AS hash,
              coalesce(array_agg(md5(t::text)), '{}') AS rows
         FROM "${table}" t`,
    );
    out.set(table, { n: row?.n ?? 0, hash: row?.hash ?? '', rows: row?.rows ?? [] });
  }
  return out;
}

/** One line per table that changed, with the rows that appeared (text cut short). */
async function describeChanges(stack: Stack, before: Snapshot, after: Snapshot, allowed: Partial<Record<BusinessTable, (row: string) => boolean>> = {}): Promise<string[]> {
  const out: string[] = [];
  for (const table of BUSINESS_TABLES) {
    const b = before.get(table);
    const a = after.get(table);
    if (!b || !a || b.hash === a.hash) continue;
    const old = new Set(b.rows);
    const fresh = new Set(a.rows);
    const added = a.rows.filter((h) => !old.has(h));
    const removed = b.rows.filter((h) => !fresh.has(h)).length;
    const texts = added.length
      ? await stack.prisma.$queryRawUnsafe<Array<{ t: string }>>(`SELECT left(t::text, 240) AS t FROM "${table}" t WHERE md5(t::text) = ANY($1::text[])`, added)
      : [];
    const allow = allowed[table];
    if (allow && removed === 0 && texts.length === added.length && texts.every((r) => allow(r.t))) continue;
    out.push(`${table}: ${b.n} -> ${a.n} rows, ${added.length} new/changed, ${removed} removed/changed${texts.length ? `; new: ${texts.map((r) => r.t).join(' | ')}` : ''}`);
  }
  return out;
}

function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  return BUSINESS_TABLES.every((t) => a.get(t)?.hash === b.get(t)?.hash);
}

/** Other scenarios' workflows may still be finishing: wait until the business tables hold still. */
async function waitForQuiet(stack: Stack, maxMs = 60_000): Promise<{ quiet: boolean; snap: Snapshot }> {
  const until = Date.now() + maxMs;
  let prev = await snapshot(stack);
  for (;;) {
    await new Promise((r) => setTimeout(r, 1500));
    const next = await snapshot(stack);
    if (sameSnapshot(prev, next)) return { quiet: true, snap: next };
    if (Date.now() > until) return { quiet: false, snap: next };
    prev = next;
  }
}

interface AcceptRow {
  idempotency_key: string;
  status: string;
  error_code: string | null;
  completed: boolean;
}

async function acceptRecord(stack: Stack, key: string): Promise<AcceptRow | null> {
  const rows = await stack.prisma.$queryRawUnsafe<AcceptRow[]>(
    'SELECT idempotency_key, status, error_code, completed_at IS NOT NULL AS completed FROM accepts WHERE idempotency_key = $1',
    key,
  );
  return rows[0] ?? null;
}

/** The workflow answers before it records its outcome: wait for the record to be final. */
async function waitForAcceptRecord(stack: Stack, key: string, maxMs = 15_000): Promise<AcceptRow | null> {
  const until = Date.now() + maxMs;
  for (;;) {
    const row = await acceptRecord(stack, key);
    if ((row && row.completed) || Date.now() > until) return row;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function chargesFor(stack: Stack, key: string): Promise<number> {
  return (await stack.sandboxCharges([key])).get(key) ?? 0;
}

// ---------------------------------------------------------------- the fixture (set up outside the measured window)

interface Fixture {
  a: { externalId: string; cartId: string; offerId: string; token: () => string };
  b: { externalId: string; cartId: string; offerId: string; token: () => string };
  legitKey: string;
  legitToken: string;
  legitChargeId: string;
  pending: { externalId: string; cartId: string };
  refunded: { externalId: string; cartId: string };
  cancelled: { externalId: string; cartId: string };
  foreignGateway: { externalId: string; cartId: string };
  unusableMethod: { externalId: string; cartId: string };
  offers: { inactive: string; notStarted: string; ended: string; euro: string; ineligible: string };
  sqlLiteralCheck: string;
}

function parentOrderBody(cartId: string, status: 'pending' | 'paid' | 'refunded' | 'cancelled', payment: { gateway?: string; methodRef?: string } = {}) {
  return {
    cart_id: cartId,
    status,
    currency: 'USD',
    total: 5000,
    paid_at: status === 'pending' ? null : new Date().toISOString(),
    customer: { email: 'buyer@example.com' },
    payment: { gateway: payment.gateway ?? 'sandbox', customer_ref: 'cus_rel', method_ref: payment.methodRef ?? 'pm_card_visa' },
    line_items: [{ product_id: 'prod_boots', name: 'Boots', quantity: 1, unit_amount: 5000 }],
  };
}

async function buildFixture(stack: Stack): Promise<Fixture> {
  const a = await stack.seedBuyer();
  const b = await stack.seedBuyer();

  // One legitimate accept, so there is a burned token to replay and a finished workflow to send webhooks to.
  // Its one charge is made here, before the measured window.
  const legitKey = `hostile-legit-${letters(12)}`;
  const legitToken = a.token();
  const legit = await stack.accept(a.offerId, legitKey, { token: legitToken, cart_id: a.cartId });
  if (legit.status !== 200) throw new Error(`fixture: the legitimate accept answered ${legit.status} ${legit.body}`);
  const [charge] = await stack.prisma.$queryRawUnsafe<Array<{ id: string }>>("SELECT id FROM sandbox_charges WHERE metadata->>'workflow_id' = $1", legitKey);
  if (!charge) throw new Error('fixture: the legitimate accept left no sandbox charge');
  await waitForAcceptRecord(stack, legitKey, 30_000);

  const parent = async (status: 'pending' | 'paid' | 'refunded' | 'cancelled', payment: { gateway?: string; methodRef?: string } = {}) => {
    const tag = letters(10);
    const o = { externalId: `hostile-${status}-${tag}`, cartId: `cart-hostile-${tag}` };
    await stack.shop('PUT', `${V1}/orders/${o.externalId}`, parentOrderBody(o.cartId, status, payment));
    return o;
  };
  const offer = async (fields: Record<string, unknown>) =>
    String((await stack.shop('POST', `${V1}/offers`, { product_id: 'prod_socks', name: 'Socks', amount: 1500, currency: 'USD', active: true, ...fields })).id);
  const day = 24 * 3600 * 1000;

  // SQL-looking text where it is allowed (free text) must be stored as text, not run.
  const sqlOffer = await stack.shop('POST', `${V1}/offers`, { product_id: SQL_OR, name: SQL_DROP, amount: 1500, currency: 'USD', active: false });
  const stored = await stack.shop('GET', `${V1}/offers/${String(sqlOffer.id)}`);
  const [orders] = await stack.prisma.$queryRawUnsafe<Array<{ n: number }>>('SELECT count(*)::int AS n FROM orders');
  const sqlLiteralCheck =
    stored.name === SQL_DROP && stored.product_id === SQL_OR && (orders?.n ?? 0) > 0
      ? `SQL-looking offer name/product_id stored verbatim (offer ${String(sqlOffer.id)}), orders table intact`
      : `SQL-looking offer text came back as ${JSON.stringify({ name: stored.name, product_id: stored.product_id })}`;

  return {
    a,
    b,
    legitKey,
    legitToken,
    legitChargeId: charge.id,
    pending: await parent('pending'),
    refunded: await parent('refunded'),
    cancelled: await parent('cancelled'),
    foreignGateway: await parent('paid', { gateway: 'worldpay', methodRef: 'wp_token_abc' }),
    unusableMethod: await parent('paid', { methodRef: 'pm_card_doesNotExist' }),
    offers: {
      inactive: await offer({ active: false }),
      notStarted: await offer({ starts_at: new Date(Date.now() + day).toISOString() }),
      ended: await offer({ starts_at: new Date(Date.now() - 3 * day).toISOString(), ends_at: new Date(Date.now() - day).toISOString() }),
      euro: await offer({ currency: 'EUR' }),
      ineligible: await offer({ eligibility: { min_parent_total: 10_000_000 } }),
    },
    sqlLiteralCheck,
  };
}

// ---------------------------------------------------------------- the catalog

export interface HostileCase {
  name: string;
  request: RawRequest;
  status: number;
  /** the error code the body must carry; null for a webhook acknowledgement */
  code: string | null;
  /** set when the request passes the HTTP checks and is refused by the workflow: it leaves an accept record */
  acceptKey?: string;
  /** rows the case may add by design (a declined accept has burned its token: every check had passed) */
  allowed?: Partial<Record<BusinessTable, (row: string) => boolean>>;
  /** send it this many times (webhook replays); each answer must match */
  times?: number;
}

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

export function hostileCases(f: Fixture): HostileCase[] {
  const cases: HostileCase[] = [];
  const sign = (s: TokenSubject, now = new Date(), ttlMin = 30, keys = SIGNING_KEYS) => {
    const t = signToken(s, keys, now, ttlMin).token;
    tokensSent.add(t);
    return t;
  };
  const key = (slug: string) => `hostile-${slug}-${letters(10)}`;
  const acceptPath = (offerId: string) => `${V1}/upsells/${offerId}/accept`;
  const acceptReq = (offerPath: string, idemKey: string | null, body: string | Buffer, contentType = 'application/json'): RawRequest => ({
    method: 'POST',
    path: offerPath,
    headers: { 'content-type': contentType, ...(idemKey === null ? {} : { 'x-idempotency-key': idemKey }) },
    body,
  });
  const a = f.a;
  tokensSent.add(f.legitToken);
  const tokenA = () => sign({ offerId: a.offerId, orderId: a.externalId, cartId: a.cartId });
  const bodyA = (token: unknown = tokenA(), cart: unknown = a.cartId) => JSON.stringify({ token, cart_id: cart });

  /** Refused by the HTTP layer: no workflow, no record. */
  const http400 = (name: string, req: RawRequest, status: number, code: string) => cases.push({ name, request: req, status, code });
  /** Refused at the API's door (token shape, signature, key id, expiry, offer and cart): no workflow, no record. */
  const door = (name: string, offerId: string, token: string, cartId: string, status: number, code: string) =>
    http400(name, acceptReq(acceptPath(offerId), key(name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)), JSON.stringify({ token, cart_id: cartId })), status, code);
  /** Refused by the workflow's validation: a record with status rejected (or declined). */
  const refused = (name: string, offerId: string, token: string, cartId: string, status: number, code: string, allowed?: HostileCase['allowed']) => {
    const k = key(name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40));
    cases.push({ name, request: acceptReq(acceptPath(offerId), k, JSON.stringify({ token, cart_id: cartId })), status, code, acceptKey: k, ...(allowed ? { allowed } : {}) });
  };

  // --- body: syntax, types, shape, size, media type
  http400('accept: malformed JSON', acceptReq(acceptPath(a.offerId), key('badjson'), '{"token": "abc", "cart_id": '), 400, 'invalid_request');
  http400('accept: empty JSON body', acceptReq(acceptPath(a.offerId), key('empty'), ''), 400, 'invalid_request');
  http400('accept: JSON array body', acceptReq(acceptPath(a.offerId), key('array'), '[]'), 400, 'invalid_request');
  http400('accept: token is a number', acceptReq(acceptPath(a.offerId), key('tnum'), bodyA(12345)), 400, 'invalid_request');
  http400('accept: token is an array', acceptReq(acceptPath(a.offerId), key('tarr'), bodyA([tokenA()])), 400, 'invalid_request');
  http400('accept: cart_id is an object', acceptReq(acceptPath(a.offerId), key('cobj'), bodyA(tokenA(), { $ne: null })), 400, 'invalid_request');
  http400('accept: cart_id is null', acceptReq(acceptPath(a.offerId), key('cnull'), bodyA(tokenA(), null)), 400, 'invalid_request');
  http400('accept: token missing', acceptReq(acceptPath(a.offerId), key('tmiss'), JSON.stringify({ cart_id: a.cartId })), 400, 'invalid_request');
  http400('accept: cart_id missing', acceptReq(acceptPath(a.offerId), key('cmiss'), JSON.stringify({ token: tokenA() })), 400, 'invalid_request');
  // A valid, unused token: if the unknown field got through, this would charge.
  http400(
    'accept: unknown field amount (valid token)',
    acceptReq(acceptPath(a.offerId), key('amount'), JSON.stringify({ token: tokenA(), cart_id: a.cartId, amount: 1 })),
    400,
    'invalid_request',
  );
  // Open redirects: the bank would send the buyer wherever return_url says. A valid, unused token again.
  for (const [tag, url] of [
    ['other origin', 'https://evil.example/thank-you'],
    ['protocol-relative', '//evil.example/thank-you'],
    ['javascript scheme', 'javascript:alert(document.cookie)'],
  ] as const) {
    http400(
      `accept: return_url ${tag} (valid token)`,
      acceptReq(acceptPath(a.offerId), key(`ret-${tag.split(' ')[0]}`), JSON.stringify({ token: tokenA(), cart_id: a.cartId, return_url: url })),
      400,
      'return_url_not_allowed',
    );
  }
  http400(
    'accept: __proto__ pollution (valid token)',
    acceptReq(acceptPath(a.offerId), key('proto'), `{"token":"${tokenA()}","cart_id":"${a.cartId}","__proto__":{"isAdmin":true}}`),
    400,
    'invalid_request',
  );
  http400(
    'accept: body over 16 KiB',
    acceptReq(acceptPath(a.offerId), key('big'), JSON.stringify({ token: tokenA(), cart_id: a.cartId, pad: 'x'.repeat(17 * 1024) })),
    413,
    'payload_too_large',
  );
  http400('accept: text/plain body (valid token)', acceptReq(acceptPath(a.offerId), key('textplain'), bodyA(), 'text/plain'), 415, 'unsupported_media_type');
  http400('accept: application/xml body', acceptReq(acceptPath(a.offerId), key('xml'), '<accept><token>x</token></accept>', 'application/xml'), 415, 'unsupported_media_type');
  // A form post is what a cross-site page can send without a preflight. Forged token: it can never charge.
  const forgedForForm = sign({ offerId: a.offerId, orderId: a.externalId, cartId: a.cartId }, new Date(), 30, parseSigningKeys(`rel:${'f'.repeat(64)}`));
  http400(
    'accept: form-urlencoded body',
    acceptReq(acceptPath(a.offerId), key('form'), new URLSearchParams({ token: forgedForForm, cart_id: a.cartId }).toString(), 'application/x-www-form-urlencoded'),
    415,
    'unsupported_media_type',
  );

  // --- the idempotency key (each with a valid, unused token: a key that slipped through would charge)
  http400('key: missing', acceptReq(acceptPath(a.offerId), null, bodyA()), 400, 'idempotency_key_missing');
  http400('key: empty', acceptReq(acceptPath(a.offerId), '', bodyA()), 400, 'idempotency_key_missing');
  http400('key: too short (7)', acceptReq(acceptPath(a.offerId), 'abc-123', bodyA()), 400, 'idempotency_key_invalid');
  http400('key: too long (256)', acceptReq(acceptPath(a.offerId), 'k'.repeat(256), bodyA()), 400, 'idempotency_key_invalid');
  http400('key: 10k chars', acceptReq(acceptPath(a.offerId), LONG, bodyA()), 400, 'idempotency_key_invalid');
  http400('key: spaces', acceptReq(acceptPath(a.offerId), 'hostile key with spaces', bodyA()), 400, 'idempotency_key_invalid');
  http400('key: quotes', acceptReq(acceptPath(a.offerId), `hostile"key'quoted`, bodyA()), 400, 'idempotency_key_invalid');
  // UTF-8 bytes on the wire (node sends header strings as latin1, one byte per char).
  http400('key: unicode', acceptReq(acceptPath(a.offerId), Buffer.from('clé-идемп-😀-key', 'utf8').toString('latin1'), bodyA()), 400, 'idempotency_key_invalid');
  http400('key: path traversal ../', acceptReq(acceptPath(a.offerId), '../../etc/passwd', bodyA()), 400, 'idempotency_key_invalid');
  http400('key: SQL OR 1=1', acceptReq(acceptPath(a.offerId), SQL_OR, bodyA()), 400, 'idempotency_key_invalid');
  http400('key: SQL DROP TABLE', acceptReq(acceptPath(a.offerId), SQL_DROP, bodyA()), 400, 'idempotency_key_invalid');

  // --- tokens: checked at the door (no workflow, no record), except a replayed one, which the workflow refuses
  const subjA = { offerId: a.offerId, orderId: a.externalId, cartId: a.cartId };
  door('token: forged (wrong secret)', a.offerId, sign(subjA, new Date(), 30, parseSigningKeys(`rel:${'0'.repeat(64)}`)), a.cartId, 401, 'token_signature_invalid');
  door('token: expired', a.offerId, sign(subjA, new Date(Date.now() - 2 * 3600_000), 30), a.cartId, 410, 'token_expired');
  refused('token: replayed (burned by another accept)', a.offerId, f.legitToken, a.cartId, 409, 'token_replayed');
  {
    // Claims changed (expiry pushed out by a day), original signature kept.
    const t = tokenA();
    const [payload, signature] = t.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp: number };
    claims.exp += 86_400;
    const tampered = `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    tokensSent.add(tampered);
    door('token: tampered claims (exp +1 day)', a.offerId, tampered, a.cartId, 401, 'token_signature_invalid');
    // The first signature character carries six real bits (the last one partly padding).
    const flipped = `${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    tokensSent.add(flipped);
    door('token: tampered signature (one char)', a.offerId, flipped, a.cartId, 401, 'token_signature_invalid');
  }
  door('token: issued for another offer', a.offerId, sign({ offerId: f.b.offerId, orderId: f.b.externalId, cartId: f.b.cartId }), a.cartId, 403, 'token_mismatch');
  door('token: issued for another cart', a.offerId, sign({ ...subjA, cartId: f.b.cartId }), a.cartId, 403, 'token_mismatch');
  door(
    'token: unknown kid (real secret)',
    a.offerId,
    sign(subjA, new Date(), 30, parseSigningKeys(`old2019:${TOKEN_SECRET.split(':')[1]!}`)),
    a.cartId,
    401,
    'token_signature_invalid',
  );
  door('token: garbage (not base64url)', a.offerId, '%%% not a token !!!', a.cartId, 400, 'token_malformed');
  door('token: base64url but not claims', a.offerId, `${Buffer.from('{"hello":"world"}').toString('base64url')}.${'A'.repeat(43)}`, a.cartId, 400, 'token_malformed');
  door('token: SQL OR 1=1', a.offerId, SQL_OR, a.cartId, 400, 'token_malformed');
  door('token: SQL DROP TABLE', a.offerId, SQL_DROP, a.cartId, 400, 'token_malformed');
  http400('token: 10k chars', acceptReq(acceptPath(a.offerId), key('tlong'), bodyA(LONG)), 400, 'invalid_request');

  // --- business rules (validly signed tokens for parents or offers that must be refused)
  refused('cart_mismatch: token and cart of B, parent order of A', a.offerId, sign({ ...subjA, cartId: f.b.cartId }), f.b.cartId, 403, 'cart_mismatch');
  for (const [label, p] of [
    ['pending', f.pending],
    ['refunded', f.refunded],
    ['cancelled', f.cancelled],
  ] as const) {
    refused(`parent_not_paid: ${label} parent`, a.offerId, sign({ offerId: a.offerId, orderId: p.externalId, cartId: p.cartId }), p.cartId, 409, 'parent_not_paid');
  }
  const onOffer = (offerId: string) => sign({ ...subjA, offerId });
  refused('offer_inactive: offer switched off', f.offers.inactive, onOffer(f.offers.inactive), a.cartId, 422, 'offer_inactive');
  refused('offer_inactive: offer not started yet', f.offers.notStarted, onOffer(f.offers.notStarted), a.cartId, 422, 'offer_inactive');
  refused('offer_inactive: offer ended', f.offers.ended, onOffer(f.offers.ended), a.cartId, 422, 'offer_inactive');
  refused('currency_mismatch: EUR offer, USD parent', f.offers.euro, onOffer(f.offers.euro), a.cartId, 422, 'currency_mismatch');
  refused('offer_ineligible: min parent total not met', f.offers.ineligible, onOffer(f.offers.ineligible), a.cartId, 422, 'offer_ineligible');
  refused('offer_not_found: unknown offer', 'off_doesNotExist', onOffer('off_doesNotExist'), a.cartId, 404, 'offer_not_found');
  refused('order_not_found: token for an unknown parent', a.offerId, sign({ ...subjA, orderId: 'no-such-order' }), a.cartId, 404, 'order_not_found');
  refused(
    'gateway_unsupported: parent paid through worldpay',
    a.offerId,
    sign({ offerId: a.offerId, orderId: f.foreignGateway.externalId, cartId: f.foreignGateway.cartId }),
    f.foreignGateway.cartId,
    422,
    'gateway_unsupported',
  );
  {
    // Every check passes (so the token is burned, by design), then the gateway refuses the saved method.
    const k = key('pm-unusable');
    cases.push({
      name: 'payment_method_unusable: unknown saved method (declined)',
      request: acceptReq(
        acceptPath(a.offerId),
        k,
        JSON.stringify({ token: sign({ offerId: a.offerId, orderId: f.unusableMethod.externalId, cartId: f.unusableMethod.cartId }), cart_id: f.unusableMethod.cartId }),
      ),
      status: 402,
      code: 'payment_method_unusable',
      acceptKey: k,
      allowed: { burned_tokens: (row) => row.includes(k) },
    });
  }
  http400('idempotency_key_reused: finished key, another token', acceptReq(acceptPath(a.offerId), f.legitKey, bodyA()), 422, 'idempotency_key_reused');

  // --- SQL-looking and very long values in the path and the cart
  const enc = encodeURIComponent;
  http400('offer_id path: SQL OR 1=1', acceptReq(acceptPath(enc(SQL_OR)), key('psql'), bodyA()), 400, 'invalid_request');
  http400('offer_id path: SQL DROP TABLE', acceptReq(acceptPath(enc(SQL_DROP)), key('pdrop'), bodyA()), 400, 'invalid_request');
  http400('offer_id path: encoded ../', acceptReq(acceptPath(enc('../../settings')), key('ptrav'), bodyA()), 400, 'invalid_request');
  // The schema allows 64 characters: anything longer is an invalid request, however the router meets it.
  http400('offer_id path: 10k chars', acceptReq(acceptPath(LONG), key('plong'), bodyA()), 400, 'invalid_request');
  http400('offer_id path: broken percent-encoding', acceptReq(acceptPath('off_%E0%A4%A'), key('pbad'), bodyA()), 400, 'invalid_request');
  http400('cart_id: SQL OR 1=1', acceptReq(acceptPath(a.offerId), key('csql'), bodyA(tokenA(), SQL_OR)), 400, 'invalid_request');
  http400('cart_id: SQL DROP TABLE', acceptReq(acceptPath(a.offerId), key('cdrop'), bodyA(tokenA(), SQL_DROP)), 400, 'invalid_request');
  http400('cart_id: 10k chars', acceptReq(acceptPath(a.offerId), key('clong'), bodyA(tokenA(), LONG)), 400, 'invalid_request');
  http400('cart_id: NUL byte', acceptReq(acceptPath(a.offerId), key('cnul'), bodyA(tokenA(), `${a.cartId}\u0000`)), 400, 'invalid_request');

  // --- the status endpoint
  const statusPath = (acceptId: string, cartId: string) => `${V1}/upsells/accepts/${acceptId}?cart_id=${enc(cartId)}`;
  http400("status: another cart's accept", { method: 'GET', path: statusPath(f.legitKey, f.b.cartId) }, 404, 'accept_not_found');
  http400('status: accept_id SQL OR 1=1', { method: 'GET', path: statusPath(enc(SQL_OR), a.cartId) }, 404, 'accept_not_found');
  http400('status: cart_id SQL DROP TABLE', { method: 'GET', path: statusPath(f.legitKey, SQL_DROP) }, 400, 'invalid_request');
  http400('status: accept_id 10k chars', { method: 'GET', path: statusPath(LONG, a.cartId) }, 400, 'invalid_request');
  http400('status: cart_id missing', { method: 'GET', path: `${V1}/upsells/accepts/${f.legitKey}` }, 400, 'invalid_request');

  // --- gateway webhooks
  const hook = (body: string, signature?: string, gateway = 'sandbox'): RawRequest => ({
    method: 'POST',
    path: `${V1}/webhooks/${gateway}`,
    headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-sandbox-signature': signature }) },
    body,
  });
  const finished = JSON.stringify({ type: 'charge.succeeded', data: { charge_id: f.legitChargeId, workflow_id: f.legitKey } });
  const unknown = JSON.stringify({ type: 'charge.succeeded', data: { charge_id: 'sbx_unknown', workflow_id: `hostile-nowf-${letters(10)}` } });
  http400('webhook: bad signature', hook(finished, signSandboxWebhook(finished, 'whsec_not_the_secret')), 400, 'signature_invalid');
  http400('webhook: missing signature', hook(finished), 400, 'signature_invalid');
  http400('webhook: signature not hex', hook(finished, 'zz-not-hex'), 400, 'signature_invalid');
  http400('webhook: signature of another body', hook(finished, signSandboxWebhook(unknown, SANDBOX_WEBHOOK_SECRET)), 400, 'signature_invalid');
  http400('webhook: unknown gateway', hook(finished, signSandboxWebhook(finished, SANDBOX_WEBHOOK_SECRET), 'worldpay'), 404, 'not_found');
  cases.push({
    name: 'webhook: signed replay for a finished workflow (sent twice)',
    request: hook(finished, signSandboxWebhook(finished, SANDBOX_WEBHOOK_SECRET)),
    status: 200,
    code: null,
    times: 2,
  });
  cases.push({
    name: 'webhook: signed event for an unknown workflow (sent twice)',
    request: hook(unknown, signSandboxWebhook(unknown, SANDBOX_WEBHOOK_SECRET)),
    status: 200,
    code: null,
    times: 2,
  });

  // --- the shop API: authentication
  const shopReq = (method: string, path: string, body?: unknown, auth: string | null = `Bearer ${API_KEY}`, extra: Record<string, string> = {}): RawRequest => ({
    method,
    path,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(auth === null ? {} : { authorization: auth }), ...extra },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const wrongKey = `${API_KEY.slice(0, -1)}${API_KEY.endsWith('0') ? '1' : '0'}`;
  const offerBody = { product_id: 'prod_hostile', name: 'Hostile', amount: 1, currency: 'USD', active: true };
  const takeover = parentOrderBody(a.cartId, 'refunded');
  http400('auth: GET settings, no key', shopReq('GET', `${V1}/settings`, undefined, null), 401, 'unauthorized');
  http400('auth: GET settings, wrong key', shopReq('GET', `${V1}/settings`, undefined, `Bearer ${wrongKey}`), 401, 'unauthorized');
  http400('auth: GET settings, key with a suffix', shopReq('GET', `${V1}/settings`, undefined, `Bearer ${API_KEY}x`), 401, 'unauthorized');
  http400('auth: PATCH settings, wrong key', shopReq('PATCH', `${V1}/settings`, { 'upsells.one_click_token_ttl_min': 1440 }, `Bearer ${wrongKey}`), 401, 'unauthorized');
  http400('auth: PUT order (refund A), no key', shopReq('PUT', `${V1}/orders/${a.externalId}`, takeover, null), 401, 'unauthorized');
  http400('auth: PUT order (refund A), wrong key', shopReq('PUT', `${V1}/orders/${a.externalId}`, takeover, `Bearer ${wrongKey}`), 401, 'unauthorized');
  http400('auth: POST offers, no key', shopReq('POST', `${V1}/offers`, offerBody, null), 401, 'unauthorized');
  http400('auth: POST offers, Basic scheme', shopReq('POST', `${V1}/offers`, offerBody, `Basic ${Buffer.from(`x:${API_KEY}`).toString('base64')}`), 401, 'unauthorized');
  http400('auth: POST offers, key in X-Api-Key', shopReq('POST', `${V1}/offers`, offerBody, null, { 'x-api-key': API_KEY }), 401, 'unauthorized');
  http400('auth: mint token, no key', shopReq('POST', `${V1}/upsells/${a.offerId}/tokens`, { order_id: a.externalId, cart_id: a.cartId }, null), 401, 'unauthorized');
  http400('auth: GET order, key in query string', shopReq('GET', `${V1}/orders/${a.externalId}?api_key=${API_KEY}`, undefined, null), 401, 'unauthorized');
  http400(
    'auth: POST event-subscribers, no key',
    shopReq('POST', `${V1}/event-subscribers`, { url: 'http://127.0.0.1:9/steal', secret: 'x'.repeat(32) }, null),
    401,
    'unauthorized',
  );

  // --- the shop API: card data (must be refused, never stored)
  const cardOrder = (slug: string, mutate: (o: ReturnType<typeof parentOrderBody>) => void, card: string) => {
    cardNumbersSent.add(card);
    const o = parentOrderBody(`cart-card-${slug}`, 'paid');
    mutate(o);
    return shopReq('PUT', `${V1}/orders/hostile-card-${slug}-${letters(6)}`, o);
  };
  http400(
    'card: method_ref 4242424242424242',
    cardOrder('mref', (o) => (o.payment.method_ref = '4242424242424242'), '4242424242424242'),
    422,
    'card_data_refused',
  );
  http400(
    'card: method_ref "4242 4242 4242 4242"',
    cardOrder('mrefsp', (o) => (o.payment.method_ref = '4242 4242 4242 4242'), '4242 4242 4242 4242'),
    422,
    'card_data_refused',
  );
  http400(
    'card: line item name "4242 4242 4242 4242"',
    cardOrder('liname', (o) => (o.line_items[0]!.name = '4242 4242 4242 4242'), '4242 4242 4242 4242'),
    422,
    'card_data_refused',
  );
  http400(
    'card: customer_ref 4000-0566-5566-5556',
    cardOrder('cref', (o) => (o.payment.customer_ref = '4000-0566-5566-5556'), '4000-0566-5566-5556'),
    422,
    'card_data_refused',
  );
  http400(
    'card: customer email 4111111111111111@…',
    cardOrder('email', (o) => (o.customer.email = '4111111111111111@example.com'), '4111111111111111'),
    422,
    'card_data_refused',
  );
  cardNumbersSent.add('5555 5555 5555 4444');
  http400('card: offer name "5555 5555 5555 4444"', shopReq('POST', `${V1}/offers`, { ...offerBody, name: 'Socks 5555 5555 5555 4444' }), 422, 'card_data_refused');

  // --- the shop API: SQL-looking and very long values (valid key)
  const goodOrder = () => parentOrderBody(`cart-hostile-${letters(6)}`, 'paid');
  http400('shop: PUT order, external_id SQL OR 1=1', shopReq('PUT', `${V1}/orders/${enc(SQL_OR)}`, goodOrder()), 400, 'invalid_request');
  http400('shop: PUT order, external_id SQL DROP TABLE', shopReq('PUT', `${V1}/orders/${enc(SQL_DROP)}`, goodOrder()), 400, 'invalid_request');
  http400('shop: PUT order, external_id 10k chars', shopReq('PUT', `${V1}/orders/${LONG}`, goodOrder()), 400, 'invalid_request');
  http400('shop: GET order, broken percent-encoding', shopReq('GET', `${V1}/orders/%E0%A4%A`), 400, 'invalid_request');
  http400('shop: GET order, external_id SQL', shopReq('GET', `${V1}/orders/${enc("' OR '1'='1")}`), 400, 'invalid_request');
  http400('shop: PUT order, cart_id SQL', shopReq('PUT', `${V1}/orders/hostile-sql-${letters(6)}`, { ...goodOrder(), cart_id: SQL_OR }), 400, 'invalid_request');
  http400('shop: PUT order, currency SQL', shopReq('PUT', `${V1}/orders/hostile-sql-${letters(6)}`, { ...goodOrder(), currency: "USD'; --" }), 400, 'invalid_request');
  http400('shop: PUT order, email SQL', shopReq('PUT', `${V1}/orders/hostile-sql-${letters(6)}`, { ...goodOrder(), customer: { email: SQL_DROP } }), 400, 'invalid_request');
  {
    const o = goodOrder();
    o.line_items[0]!.name = LONG;
    http400('shop: PUT order, line item name 10k', shopReq('PUT', `${V1}/orders/hostile-long-${letters(6)}`, o), 400, 'invalid_request');
  }
  http400('shop: PUT order, total as string', shopReq('PUT', `${V1}/orders/hostile-type-${letters(6)}`, { ...goodOrder(), total: '5000' }), 400, 'invalid_request');
  http400('shop: POST offer, id SQL', shopReq('POST', `${V1}/offers`, { ...offerBody, id: SQL_OR }), 400, 'invalid_request');
  http400('shop: POST offer, currency SQL DROP', shopReq('POST', `${V1}/offers`, { ...offerBody, currency: SQL_DROP }), 400, 'invalid_request');
  http400('shop: POST offer, order_strategy SQL', shopReq('POST', `${V1}/offers`, { ...offerBody, order_strategy: "merge'; DROP TABLE offers; --" }), 400, 'invalid_request');
  http400('shop: POST offer, eligibility SQL', shopReq('POST', `${V1}/offers`, { ...offerBody, eligibility: { min_parent_total: SQL_OR } }), 400, 'invalid_request');
  http400('shop: POST offer, name 10k', shopReq('POST', `${V1}/offers`, { ...offerBody, name: LONG }), 400, 'invalid_request');
  http400('shop: POST offer, product_id 10k', shopReq('POST', `${V1}/offers`, { ...offerBody, product_id: LONG }), 400, 'invalid_request');
  http400('shop: POST offer, negative amount', shopReq('POST', `${V1}/offers`, { ...offerBody, amount: -1500 }), 400, 'invalid_request');
  http400('shop: POST offer, unknown field', shopReq('POST', `${V1}/offers`, { ...offerBody, is_admin: true }), 400, 'invalid_request');
  http400('shop: PUT offer, offer_id SQL', shopReq('PUT', `${V1}/offers/${enc(SQL_OR)}`, { name: 'x' }), 400, 'invalid_request');
  http400('shop: PUT offer A, name 10k', shopReq('PUT', `${V1}/offers/${a.offerId}`, { name: LONG }), 400, 'invalid_request');
  http400('shop: mint token, order_id SQL', shopReq('POST', `${V1}/upsells/${a.offerId}/tokens`, { order_id: SQL_OR, cart_id: a.cartId }), 400, 'invalid_request');
  http400('shop: PATCH settings, value SQL', shopReq('PATCH', `${V1}/settings`, { 'upsells.one_click_token_ttl_min': SQL_OR }), 422, 'setting_invalid');
  http400('shop: PATCH settings, key SQL', shopReq('PATCH', `${V1}/settings`, { "'; DROP TABLE settings; --": 1 }), 422, 'setting_invalid');

  // --- routes that do not exist
  http400('route: unknown path', { method: 'GET', path: `${V1}/nope` }, 404, 'not_found');
  http400('route: DELETE order (no such method)', shopReq('DELETE', `${V1}/orders/${a.externalId}`), 404, 'not_found');
  http400('route: raw ../ traversal', { method: 'GET', path: `${V1}/../../../../etc/passwd` }, 404, 'not_found');

  return cases;
}

// ---------------------------------------------------------------- (f)

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

export async function runHostileCatalog(stack: Stack): Promise<ScenarioResult> {
  const anomalies: string[] = [];
  const notes: string[] = [];
  const fixture = await buildFixture(stack);
  notes.push(fixture.sqlLiteralCheck, `1 legitimate charge made before the window (accept ${fixture.legitKey})`);
  const cases = hostileCases(fixture);

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
  const allowedOverall: Partial<Record<BusinessTable, (row: string) => boolean>> = {};
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

// ---------------------------------------------------------------- (g)

const SECRET_NAMES = ['OCART_API_KEY', 'token signing secret', 'SANDBOX_WEBHOOK_SECRET'];
// The same candidates looksLikeCardNumber considers, so a hit can be located and shown masked.
const CARD_CANDIDATE = /\d[\d -]{11,22}\d/g;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** A hex digest (sha256 fingerprints, md5s): 32 or more hex characters in one word. */
const HEX_DIGEST = /(?<![0-9a-z])[0-9a-f]{32,}(?![0-9a-z])/gi;
/** What comes right before the fractional digits of a JSON number (`"responseTime":12.3456789012345678`). */
const JSON_NUMBER_HEAD = /[:,[]\s*-?\d+\.$/;
const TOKEN_SHAPE = /[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{20,}/g;

function maskSecrets(s: string): string {
  let out = s;
  SECRETS.forEach((secret, i) => (out = out.split(secret).join(`<${SECRET_NAMES[i] ?? 'secret'}>`)));
  return out;
}

function maskCards(s: string): string {
  return s.replace(CARD_CANDIDATE, (m) => (looksLikeCardNumber(m) ? `${m.slice(0, 4)}…${m.slice(-4)}` : m));
}

/** What the reports may show: secrets named, card numbers cut to their first and last four digits. */
function redact(s: string): string {
  return maskCards(maskSecrets(s));
}

function excerpt(text: string, at: number, len: number): string {
  const from = Math.max(0, at - 60);
  const cut = text.slice(from, at + len + 60).replace(/\s+/g, ' ');
  return redact(`${from > 0 ? '…' : ''}${cut}${at + len + 60 < text.length ? '…' : ''}`);
}

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

function scanText(text: string, where: string): Hit[] {
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

async function ensureCardNumberSent(stack: Stack): Promise<string | null> {
  if (cardNumbersSent.size > 0) return null;
  // Run on its own (REL_ONLY=g): send one, so the scan has something it must not find.
  const card = '4242 4242 4242 4242';
  cardNumbersSent.add(card);
  const body = parentOrderBody(`cart-card-${letters(6)}`, 'paid');
  body.line_items[0]!.name = card;
  const res = await sendRaw(stack.base, {
    method: 'PUT',
    path: `${V1}/orders/hostile-card-${letters(6)}`,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return `the catalog had not run: sent one card number itself (answered ${res.status})`;
}

export async function runLeakScan(stack: Stack): Promise<ScenarioResult> {
  const anomalies: string[] = [];
  const notes: string[] = [];
  const selfSent = await ensureCardNumberSent(stack);
  if (selfSent) notes.push(selfSent);
  notes.push(`card numbers sent by the catalog: ${cardNumbersSent.size}; tokens sent: ${tokensSent.size}`);
  // Give the processes a moment to flush their last lines.
  await new Promise((r) => setTimeout(r, 1000));

  // The scanner must see what it is looking for, or a clean result means nothing.
  const probe = scanText(`{"msg":"probe","pan":"4242 4242 4242 4242","key":"${API_KEY}"}`, 'self-test');
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
        hits.push(...scanText(text, `db ${tablename}.${column} (row ${i + 1})`));
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
      const found = scanText(line, `log ${proc}:${i + 1}`);
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
