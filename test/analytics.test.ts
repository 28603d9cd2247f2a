/**
 * Offer analytics: the events the accept flow records (through the real accept, the sandbox gateway
 * and Temporal), counted once under replays, and the report over them checked against the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordOfferEvent } from '../db/offer-events.ts';
import { pollUntil } from './helpers/poll.ts';
import { accept, auth, createOffer, mintToken, registerParentOrder } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const patchSettings = (p: Record<string, unknown>) => stack.app.inject({ method: 'PATCH', url: '/wp-json/ocart/v1/settings', headers: auth, payload: p });

/** A fresh paid parent (with the given saved method), a token for the offer, and the accept's body. */
async function buyer(offerId: string, methodRef: string) {
  const order = await registerParentOrder(stack.app, { methodRef });
  const minted = await mintToken(stack.app, offerId, order.externalId, order.cartId);
  return { order, jti: minted.jti, body: { token: minted.token, cart_id: order.cartId } };
}

async function eventsOf(offerId: string) {
  return stack.prisma.offerEvent.findMany({ where: { offerId }, orderBy: { id: 'asc' } });
}

const statusOf = (key: string, cartId: string) => stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/upsells/accepts/${key}?cart_id=${cartId}` });

/**
 * One offer through every accept outcome: two plain successes (one replayed twice), a declined card,
 * an SCA the buyer abandons, and an SCA the buyer completes. Returns the accept keys.
 */
async function seedOutcomes(offerId: string) {
  const ok1 = await buyer(offerId, 'pm_card_visa');
  const okKey1 = newKey();
  expect((await accept(stack.app, offerId, okKey1, ok1.body)).statusCode).toBe(200);
  for (let i = 0; i < 2; i++) {
    const replay = await accept(stack.app, offerId, okKey1, ok1.body);
    expect(replay.statusCode).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
  }
  const ok2 = await buyer(offerId, 'pm_card_visa');
  const okKey2 = newKey();
  expect((await accept(stack.app, offerId, okKey2, ok2.body)).statusCode).toBe(200);

  const declined = await buyer(offerId, 'pm_card_chargeDeclined');
  const declinedKey = newKey();
  expect((await accept(stack.app, offerId, declinedKey, declined.body)).statusCode).toBe(402);
  // A replayed decline is the same decline.
  expect((await accept(stack.app, offerId, declinedKey, declined.body)).statusCode).toBe(402);

  // The SCA timeout is taken into the accept's plan at validation: short for this one only.
  expect((await patchSettings({ 'upsells.sca_timeout_min': 0.05 })).statusCode).toBe(200);
  const abandoned = await buyer(offerId, 'pm_card_authenticationRequired');
  const abandonedKey = newKey();
  try {
    expect((await accept(stack.app, offerId, abandonedKey, abandoned.body)).statusCode).toBe(202);
  } finally {
    await patchSettings({ 'upsells.sca_timeout_min': 30 });
  }

  const sca = await buyer(offerId, 'pm_card_authenticationRequired');
  const scaKey = newKey();
  const waiting = await accept(stack.app, offerId, scaKey, sca.body);
  expect(waiting.statusCode).toBe(202);
  const chargeId = waiting.json<{ action: { client_secret: string } }>().action.client_secret.replace(/_secret$/, '');
  expect((await stack.app.inject({ method: 'POST', url: `/sandbox/authenticate/${chargeId}`, payload: { result: 'approve' } })).statusCode).toBe(200);
  const done = await pollUntil(
    () => statusOf(scaKey, sca.order.cartId),
    (r) => r.json<{ status: string }>().status !== 'requires_action',
  );
  expect(done.json<{ status: string }>().status).toBe('succeeded');

  await stack.client.workflow.getHandle(abandonedKey).result();
  expect((await statusOf(abandonedKey, abandoned.order.cartId)).json<{ status: string }>().status).toBe('expired');
  return { okKey1, okKey2, declinedKey, abandonedKey, scaKey, buyers: { ok1, ok2, declined, abandoned, sca } };
}

describe('the accept flow records offer events', () => {
  it('accepts with revenue, a payment decline, SCA starts and an abandonment, each once whatever was replayed', async () => {
    const offer = await createOffer(stack.app, { amount: 1500 });
    const keys = await seedOutcomes(offer.id);
    const events = await pollUntil(
      () => eventsOf(offer.id),
      (e) => e.length >= 7,
    );
    const byKind = (kind: string) =>
      events
        .filter((e) => e.kind === kind)
        .map((e) => e.sourceKey)
        .sort();
    expect(byKind('accept')).toEqual([keys.okKey1, keys.okKey2, keys.scaKey].sort());
    expect(byKind('payment_decline')).toEqual([keys.declinedKey]);
    expect(byKind('sca_started')).toEqual([keys.abandonedKey, keys.scaKey].sort());
    expect(byKind('sca_abandoned')).toEqual([keys.abandonedKey]);
    expect(events).toHaveLength(7);

    // Revenue on the accepts only, as charged (the payments say what was charged).
    const payments = await stack.prisma.payment.findMany({ where: { idempotencyKey: { in: [keys.okKey1, keys.okKey2, keys.scaKey] } } });
    expect(payments).toHaveLength(3);
    for (const e of events) {
      expect(e.currency).toBe('USD');
      if (e.kind === 'accept') expect(e.amount).toBe(payments.find((p) => p.idempotencyKey === e.sourceKey)!.amount);
      else expect(e.amount).toBeNull();
    }
    // Click to answer: on the event that carried the first answer (not the accept after 3-D Secure,
    // whose first answer was requires_action, nor the abandonment).
    const answered = (key: string, kind: string) => events.find((e) => e.sourceKey === key && e.kind === kind)!.answerMs;
    for (const [key, kind] of [
      [keys.okKey1, 'accept'],
      [keys.okKey2, 'accept'],
      [keys.declinedKey, 'payment_decline'],
      [keys.scaKey, 'sca_started'],
      [keys.abandonedKey, 'sca_started'],
    ] as const) {
      expect(answered(key, kind)).toBeGreaterThanOrEqual(0);
      expect(answered(key, kind)).toBeLessThan(15_000);
    }
    expect(answered(keys.scaKey, 'accept')).toBeNull();
    expect(answered(keys.abandonedKey, 'sca_abandoned')).toBeNull();
  });
});

interface ReportFigures {
  impressions: number;
  accepts: number;
  buyer_declines: number;
  payment_declines: number;
  sca_started: number;
  sca_abandoned: number;
  conversion_rate: number | null;
  sca_abandonment_rate: number | null;
  gross_revenue: { value: number; currency: string };
  refunds: { value: number; currency: string };
  net_revenue: { value: number; currency: string };
  median_answer_ms: number | null;
}
interface ReportRow extends ReportFigures {
  offer_id: string;
  name: string | null;
  step_id: string | null;
  currency: string;
  series: Array<ReportFigures & { start: string }>;
}
interface Report {
  from: string;
  to: string;
  interval: string;
  offers: ReportRow[];
}

function report(query: string, headers: Record<string, string> = auth) {
  return stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/analytics/offers${query}`, headers });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
};

describe('GET /analytics/offers', () => {
  it('per offer: impressions, accepts, declines, SCA, revenue, refunds and median answer time, as the database has them', async () => {
    const offer = await createOffer(stack.app, { amount: 2500 });
    const start = new Date();
    const keys = await seedOutcomes(offer.id);
    // Every buyer's page showed the offer; one page reported twice (counted once).
    for (const b of Object.values(keys.buyers)) {
      const res = await stack.app.inject({
        method: 'POST',
        url: `/wp-json/ocart/v1/upsells/${offer.id}/impressions`,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(b.body),
      });
      expect(res.statusCode).toBe(202);
    }
    expect(
      (
        await stack.app.inject({
          method: 'POST',
          url: `/wp-json/ocart/v1/upsells/${offer.id}/impressions`,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(keys.buyers.ok1.body),
        })
      ).json(),
    ).toMatchObject({ counted: false });
    // A partial refund of one accept, as the refund flow records it (its own key, the refunded amount).
    expect(await recordOfferEvent(stack.prisma, { offerId: offer.id, kind: 'refund', sourceKey: `rf-${keys.okKey2}`, amount: 1000, currency: 'USD', occurredAt: new Date() })).toBe(
      true,
    );
    expect(await recordOfferEvent(stack.prisma, { offerId: offer.id, kind: 'refund', sourceKey: `rf-${keys.okKey2}`, amount: 1000, currency: 'USD', occurredAt: new Date() })).toBe(
      false,
    );

    const from = new Date(start.getTime() - 60_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = await report(`?from=${from}&to=${to}&interval=day`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<Report>();
    expect(body).toMatchObject({ from, to, interval: 'day' });
    const rows = body.offers.filter((o) => o.offer_id === offer.id);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;

    // What the database says happened: payments for the charges, accept records for the rest.
    const payments = await stack.prisma.payment.findMany({ where: { idempotencyKey: { in: [keys.okKey1, keys.okKey2, keys.scaKey, keys.declinedKey, keys.abandonedKey] } } });
    const gross = payments.reduce((t, p) => t + p.amount, 0);
    expect(payments).toHaveLength(3);
    expect(gross).toBe(7500);
    const records = await stack.prisma.accept.findMany({ where: { offerId: offer.id } });
    const answers = (await eventsOf(offer.id)).flatMap((e) => (e.answerMs === null ? [] : [e.answerMs]));
    expect(answers).toHaveLength(5);

    expect(row).toMatchObject({
      name: 'Matching socks',
      step_id: null,
      currency: 'USD',
      impressions: 5,
      accepts: payments.length,
      buyer_declines: 0,
      payment_declines: records.filter((r) => r.status === 'declined').length,
      sca_started: 2,
      sca_abandoned: records.filter((r) => r.status === 'expired').length,
      conversion_rate: 0.6,
      sca_abandonment_rate: 0.5,
      gross_revenue: { value: gross, currency: 'USD' },
      refunds: { value: 1000, currency: 'USD' },
      net_revenue: { value: gross - 1000, currency: 'USD' },
      median_answer_ms: median(answers),
    });
    expect(row.payment_declines).toBe(1);
    expect(row.sca_abandoned).toBe(1);
    // The series: everything happened today (UTC), so one bucket with the same figures.
    const today = `${new Date().toISOString().slice(0, 10)}T00:00:00Z`;
    if (start.toISOString().slice(0, 10) === new Date().toISOString().slice(0, 10)) {
      expect(row.series).toEqual([{ start: today, ...withoutIds(row) }]);
    }
  });

  it('counts only the range asked for, and buckets the series by interval', async () => {
    const offer = await createOffer(stack.app, { amount: 900, currency: 'EUR' });
    const day = (n: number) => new Date(Date.UTC(2026, 10, n, 12));
    const seed: Array<[string, number, number | null]> = [
      ['impression', 1, null],
      ['impression', 1, null],
      ['accept', 1, 900],
      ['impression', 2, null],
      ['accept', 3, 900],
      ['refund', 3, 300],
      ['impression', 9, null],
    ];
    for (const [i, [kind, d, amount]] of seed.entries()) {
      await recordOfferEvent(stack.prisma, { offerId: offer.id, kind: kind as 'impression', sourceKey: `${offer.id}-${i}`, amount, currency: 'EUR', occurredAt: day(d) });
    }
    const mine = async (query: string) => {
      const res = await report(query);
      expect(res.statusCode, res.body).toBe(200);
      return res.json<Report>().offers.filter((o) => o.offer_id === offer.id);
    };
    const [row] = await mine('?from=2026-11-01&to=2026-11-04');
    expect(row).toMatchObject({
      currency: 'EUR',
      impressions: 3,
      accepts: 2,
      conversion_rate: 0.6667,
      gross_revenue: { value: 1800, currency: 'EUR' },
      refunds: { value: 300, currency: 'EUR' },
      net_revenue: { value: 1500, currency: 'EUR' },
      median_answer_ms: null,
      sca_abandonment_rate: null,
    });
    expect(row!.series.map((s) => [s.start, s.impressions, s.accepts, s.net_revenue.value])).toEqual([
      ['2026-11-01T00:00:00Z', 2, 1, 900],
      ['2026-11-02T00:00:00Z', 1, 0, 0],
      ['2026-11-03T00:00:00Z', 0, 1, 600],
    ]);
    // `to` is exclusive; the 9th is outside.
    expect((await mine('?from=2026-11-01T00:00:00Z&to=2026-11-03T00:00:00Z'))[0]).toMatchObject({ impressions: 3, accepts: 1 });
    expect((await mine('?from=2026-11-01&to=2026-11-30&interval=week'))[0]!.series.map((s) => [s.start, s.impressions])).toEqual([
      // Weeks start on Monday (ISO 8601): Sunday the 1st is in the week of October 26.
      ['2026-10-26T00:00:00Z', 2],
      ['2026-11-02T00:00:00Z', 1],
      ['2026-11-09T00:00:00Z', 1],
    ]);
    expect(await mine('?from=2026-11-04&to=2026-11-05')).toEqual([]);
  });

  it('refuses bad dates and ranges with 400 and a stable code, and wants the shop key', async () => {
    for (const [query, code] of [
      ['?from=yesterday&to=2026-11-05', 'date_invalid'],
      ['?from=2026-02-30&to=2026-03-05', 'date_invalid'],
      ['?from=2026-11-01T10:00:00&to=2026-11-05', 'date_invalid'],
      ['?from=2026-11-05&to=2026-11-01', 'range_invalid'],
      ['?from=2026-11-05&to=2026-11-05', 'range_invalid'],
      ['?from=2025-01-01&to=2026-11-05', 'range_too_long'],
      ['?from=2026-01-01&to=2026-11-05&interval=hour', 'range_too_long'],
      ['?from=2026-11-01&to=2026-11-05&interval=year', 'invalid_request'],
    ] as const) {
      const res = await report(query);
      expect(res.statusCode, `${query}: ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ status: 'rejected', code });
    }
    const anonymous = await report('?from=2026-11-01&to=2026-11-05', {});
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ code: 'unauthorized' });
  });

  it('is in the OpenAPI document with its errors', async () => {
    const doc = (await stack.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>();
    expect(Object.keys(doc.paths['/wp-json/ocart/v1/analytics/offers']!.get!.responses).sort()).toEqual(['200', '400', '401', '500']);
    expect(Object.keys(doc.paths['/wp-json/ocart/v1/upsells/{offer_id}/impressions']!.post!.responses)).toContain('202');
  });
});

function withoutIds(row: ReportRow): ReportFigures {
  const figures: Record<string, unknown> = { ...row };
  for (const key of ['offer_id', 'name', 'step_id', 'currency', 'series']) delete figures[key];
  return figures as unknown as ReportFigures;
}
