/**
 * The hostile input catalogue: a fixture set up outside the measured window (parents, offers, one
 * legitimate accept), and the table of hostile requests with the answer each must get.
 */
import { parseSigningKeys, signToken, type TokenSubject } from '../../domain/token.ts';
import { signSandboxWebhook } from '../../gateways/sandbox.ts';
import { parentOrderBody, parentOrderPath, type ParentOrderBody } from '../helpers/parent-order.ts';
import { webhookRequest } from '../helpers/webhooks.ts';
import { API_KEY, SANDBOX_WEBHOOK_SECRET, TOKEN_SECRET, type Stack } from './harness.ts';
import type { SentLedger } from './ledger.ts';
import { letters, type RawRequest } from './raw-http.ts';
import { waitForAcceptRecord, type AllowedRows } from './snapshots.ts';

export const V1 = '/wp-json/ocart/v1';
const SIGNING_KEYS = parseSigningKeys(TOKEN_SECRET);

const SQL_OR = "' OR 1=1 --";
const SQL_DROP = '"; DROP TABLE orders; --';
export const LONG = 'A'.repeat(10_000);

export interface Fixture {
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

export async function buildFixture(stack: Stack): Promise<Fixture> {
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
    await stack.shop('PUT', parentOrderPath(o.externalId), parentOrderBody({ cartId: o.cartId, status, ...payment, ...(status === 'pending' ? { paidAt: null } : {}) }));
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

export interface HostileCase {
  name: string;
  request: RawRequest;
  status: number;
  /** the error code the body must carry; null for a webhook acknowledgement */
  code: string | null;
  /** set when the request passes the HTTP checks and is refused by the workflow: it leaves an accept record */
  acceptKey?: string;
  /** rows the case may add by design (a declined accept has burned its token: every check had passed) */
  allowed?: AllowedRows;
  /** send it this many times (webhook replays); each answer must match */
  times?: number;
}

export function hostileCases(f: Fixture, ledger: SentLedger): HostileCase[] {
  const cases: HostileCase[] = [];
  const sign = (s: TokenSubject, now = new Date(), ttlMin = 30, keys = SIGNING_KEYS) => {
    const t = signToken(s, keys, now, ttlMin).token;
    ledger.tokens.add(t);
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
  ledger.tokens.add(f.legitToken);
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
    ledger.tokens.add(tampered);
    door('token: tampered claims (exp +1 day)', a.offerId, tampered, a.cartId, 401, 'token_signature_invalid');
    // The first signature character carries six real bits (the last one partly padding).
    const flipped = `${payload}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    ledger.tokens.add(flipped);
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
    ...webhookRequest(gateway, signature),
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
  const takeover = parentOrderBody({ cartId: a.cartId, status: 'refunded' });
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
  const cardOrder = (slug: string, mutate: (o: ParentOrderBody) => void, card: string) => {
    ledger.cardNumbers.add(card);
    const o = parentOrderBody({ cartId: `cart-card-${slug}` });
    mutate(o);
    return shopReq('PUT', parentOrderPath(`hostile-card-${slug}-${letters(6)}`), o);
  };
  const cardCases: Array<[name: string, slug: string, card: string, mutate: (o: ParentOrderBody) => void]> = [
    ['card: method_ref 4242424242424242', 'mref', '4242424242424242', (o) => (o.payment.method_ref = '4242424242424242')],
    ['card: method_ref "4242 4242 4242 4242"', 'mrefsp', '4242 4242 4242 4242', (o) => (o.payment.method_ref = '4242 4242 4242 4242')],
    ['card: line item name "4242 4242 4242 4242"', 'liname', '4242 4242 4242 4242', (o) => (o.line_items[0]!.name = '4242 4242 4242 4242')],
    ['card: customer_ref 4000-0566-5566-5556', 'cref', '4000-0566-5566-5556', (o) => (o.payment.customer_ref = '4000-0566-5566-5556')],
    ['card: customer email 4111111111111111@…', 'email', '4111111111111111', (o) => (o.customer.email = '4111111111111111@example.com')],
  ];
  for (const [name, slug, card, mutate] of cardCases) http400(name, cardOrder(slug, mutate, card), 422, 'card_data_refused');
  ledger.cardNumbers.add('5555 5555 5555 4444');
  http400('card: offer name "5555 5555 5555 4444"', shopReq('POST', `${V1}/offers`, { ...offerBody, name: 'Socks 5555 5555 5555 4444' }), 422, 'card_data_refused');

  // --- the shop API: SQL-looking and very long values (valid key)
  const goodOrder = () => parentOrderBody({ cartId: `cart-hostile-${letters(6)}` });
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
