/** The db/ layer's own guarantees: rows parsed (RowShapeError), statuses as enums, one clock. */
import { uid } from './helpers/ids.ts';
import { readFile, readdir } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { OrderWriteRefusedError, findRecordedPlan, recordAcceptOutcome, upsertValidatedAccept, writeUpsellOrder } from '../db/accepts.ts';
import { createPrisma, sqlState } from '../db/client.ts';
import { findOffer } from '../db/offers.ts';
import { MalformedRecordError } from '../contract/records.ts';
import { Row, RowShapeError, firstRow, onlyRow, parseRows } from '../db/rows.ts';
import { ACCEPT_STATUSES } from '../db/statuses.ts';
import { changeOffer, createOffer, putOrder } from '../api/services/shop.ts';
import type { AcceptPlan } from '../contract/accept.ts';
import { ADMIN_URL } from '../scripts/lib/fresh-db.ts';
import {
  findBuyerDecline,
  findFunnel,
  findFunnelAnswer,
  findWindow,
  funnelDefinition,
  noteFunnelAnswer,
  openWindowRow,
  recordBuyerDecline,
  saveFunnel,
  settleFunnelAnswer,
} from '../db/funnels.ts';
import { closeWindowRecord, windowContents } from '../db/windows.ts';
import type { FunnelDefinition } from '../domain/funnel.ts';

const prisma = createPrisma(inject('databaseUrl'), 2);
afterAll(async () => {
  await prisma.$disconnect();
});

const NOW = new Date('2026-12-03T09:30:00.250Z');

/** A paid parent order of 10.00 USD with one line and a saved sandbox card, written through the shop API's service at NOW. */
function putPaidParent(externalId: string, cartId: string, paidAt: Date) {
  return putOrder(
    prisma,
    externalId,
    {
      cart_id: cartId,
      status: 'paid',
      currency: 'USD',
      total: 1000,
      paid_at: paidAt.toISOString(),
      payment: { gateway: 'sandbox', method_ref: 'pm_card_visa' },
      line_items: [{ product_id: 'p1', name: 'Shoes', quantity: 1, unit_amount: 1000 }],
    },
    NOW,
  );
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('row parser', () => {
  it('reads typed columns from a well-shaped row', () => {
    const row = new Row('offers', { id: 'off_1', amount: 1500, currency: 'USD', held: 3n, active: true, ends_at: null, ids: ['a', 'b'], status: 'paid' });
    expect(row.str('id')).toBe('off_1');
    expect(row.money('amount', 'currency')).toEqual({ value: 1500, currency: 'USD' });
    expect(row.int('held')).toBe(3);
    expect(row.bool('active')).toBe(true);
    expect(row.dateOrNull('ends_at')).toBeNull();
    expect(row.strArray('ids')).toEqual(['a', 'b']);
    expect(row.enumOf('status', ['pending', 'paid'] as const)).toBe('paid');
  });

  it('a wrong-shaped row throws RowShapeError naming the source and the column', () => {
    const cases: Array<[() => unknown, string]> = [
      [() => new Row('offers', { amount: '1500' }).int('amount'), 'amount'],
      [() => new Row('offers', { amount: 1.5 }).int('amount'), 'amount'],
      [() => new Row('offers', { amount: -1, currency: 'USD' }).money('amount', 'currency'), 'amount'],
      [() => new Row('offers', { amount: 1, currency: 'usd' }).money('amount', 'currency'), 'currency'],
      [() => new Row('offers', {}).str('id'), 'id'],
      [() => new Row('orders', { status: 'shipped' }).enumOf('status', ['pending', 'paid'] as const), 'status'],
      [() => new Row('orders', { product_ids: ['a', 2] }).strArray('product_ids'), 'product_ids'],
      [() => new Row('orders', { paid_at: '2026-12-03' }).date('paid_at'), 'paid_at'],
      [() => new Row('orders', null), '*'],
      [() => onlyRow('rate_limits', [], (r) => r.int('hits')), '*'],
      [() => parseRows('settings', 'not rows', (r) => r.str('key')), '*'],
    ];
    for (const [fn, column] of cases) {
      const err = caught(fn);
      expect(err).toBeInstanceOf(RowShapeError);
      expect((err as RowShapeError).column).toBe(column);
    }
    expect(String(caught(() => new Row('offers', { amount: '1500' }).int('amount')))).toContain('offers.amount: expected an integer, got string');
    expect(firstRow('offers', [], (r) => r.str('id'))).toBeNull();
  });

  it('a stored plan of the wrong shape is refused as MalformedRecordError, not used to charge', async () => {
    const key = `dbl-${uid()}`;
    const input = { acceptKey: key, fingerprint: 'fp', offerId: 'off_x', cartId: 'cart_x', token: 't' };
    const plan: AcceptPlan = {
      acceptKey: key,
      offerId: 'off_x',
      cartId: 'cart_x',
      parentOrderId: 'ord_x',
      parentExternalId: 'ext_x',
      productId: 'prod_x',
      productName: 'X',
      amount: { value: 500, currency: 'USD' },
      gateway: 'sandbox',
      customerRef: null,
      methodRef: 'pm_x',
      email: null,
      strategy: 'child',
      orderKind: 'child',
      fellBackToChild: false,
      scaModal: true,
      scaTimeoutMs: 600_000,
      returnUrl: null,
    };
    await upsertValidatedAccept(prisma, input, plan, NOW);
    expect((await findRecordedPlan(prisma, input))?.plan).toEqual(plan);
    // The amount's value stored as text: a changed writer, or a hand edit.
    await prisma.$executeRaw`UPDATE accepts SET validated_plan = jsonb_set(validated_plan, '{amount,value}', '"500"') WHERE idempotency_key = ${key}`;
    const err = await findRecordedPlan(prisma, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedRecordError);
    expect(err).toMatchObject({ column: 'validated plan' });
    expect((err as MalformedRecordError).problems.join(' ')).toContain('/amount/value');
  });
});

describe('status enums', () => {
  it('an accept status round-trips through the accept_status enum, and a value outside it is refused by the database', async () => {
    const key = `dbl-${uid()}`;
    const input = { acceptKey: key, fingerprint: 'fp', offerId: 'off_x', cartId: 'cart_x' };
    await recordAcceptOutcome(prisma, input, { status: 'declined', accept_id: key, code: 'card_declined', message: 'declined' }, null, NOW);
    const [typed] = await prisma.$queryRaw<unknown[]>`SELECT status, pg_typeof(status)::text AS type FROM accepts WHERE idempotency_key = ${key}`;
    expect(typed).toEqual({ status: 'declined', type: 'accept_status' });
    expect((await prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } })).status).toBe('declined');
    expect(ACCEPT_STATUSES).toEqual(['processing', 'succeeded', 'requires_action', 'declined', 'rejected', 'error', 'expired']);

    const refused = await prisma.$executeRaw`UPDATE accepts SET status = 'declined-ish' WHERE idempotency_key = ${key}`.catch((e: unknown) => e);
    expect(sqlState(refused)).toBe('22P02');
    expect((await prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } })).status).toBe('declined');
  });

  it('every status column is an enum type', async () => {
    const rows = await prisma.$queryRaw<unknown[]>`
      SELECT table_name || '.' || column_name AS col, udt_name AS type FROM information_schema.columns
      WHERE table_schema = current_schema() AND (column_name = 'status' OR (table_name = 'orders' AND column_name = 'kind')) ORDER BY 1`;
    expect(parseRows('columns', rows, (r) => `${r.str('col')}:${r.str('type')}`)).toEqual([
      'accepts.status:accept_status',
      'line_items.status:line_item_status',
      'orders.kind:order_kind',
      'orders.status:order_status',
      'outbox_events.status:outbox_status',
      'payments.status:payment_status',
      'refunds.status:refund_status',
      'sandbox_charges.status:sandbox_charge_status',
      'upsell_windows.status:window_status',
    ]);
  });
});

describe('the status enum migration', () => {
  it('keeps every stored status: rows written as text before it read back the same after it, now typed', async () => {
    const MIGRATION = '20261203130000_status_enums';
    const dir = new URL('../prisma/migrations/', import.meta.url);
    const folders = (await readdir(dir)).filter((f) => /^\d{14}_/.test(f)).sort();
    expect(folders).toContain(MIGRATION);
    const name = `ocart_enums_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    const db = new pg.Client({ connectionString: ADMIN_URL.replace(/\/[^/]*$/, `/${name}`) });
    try {
      await db.connect();
      const apply = async (folder: string) => db.query(await readFile(new URL(`${folder}/migration.sql`, dir), 'utf8'));
      for (const folder of folders.filter((f) => f < MIGRATION)) await apply(folder);
      await db.query(`
        INSERT INTO orders (id, external_id, kind, cart_id, status, currency, total_amount, updated_at) VALUES
          ('o1', 'e1', 'parent', 'c', 'paid', 'USD', 1, now()), ('o2', 'e2', 'child', 'c', 'pending', 'USD', 1, now()),
          ('o3', 'e3', 'parent', 'c', 'refunded', 'USD', 1, now()), ('o4', 'e4', 'parent', 'c', 'cancelled', 'USD', 1, now());
        INSERT INTO payments (id, order_id, gateway, gateway_ref, idempotency_key, status, amount, currency, updated_at) VALUES
          ('p1', 'o1', 'sandbox', 'r1', 'k1', 'succeeded', 1, 'USD', now()), ('p2', 'o1', 'sandbox', 'r2', 'k2', 'refunded', 1, 'USD', now());
        INSERT INTO accepts (idempotency_key, fingerprint, offer_id, cart_id, status, updated_at)
          SELECT 'a-' || s, 'f', 'off', 'c', s, now()
          FROM unnest(ARRAY['processing', 'succeeded', 'requires_action', 'declined', 'rejected', 'error', 'expired']) s;
        INSERT INTO outbox_events (id, type, accept_key, payload) VALUES ('v1', 't', 'k1', '{}'), ('v2', 't', 'k2', '{}');
        UPDATE outbox_events SET status = 'delivered' WHERE id = 'v2';
        INSERT INTO sandbox_charges (id, idempotency_key, method_ref, amount, currency, status, updated_at) VALUES
          ('s1', 'i1', 'pm', 1, 'USD', 'canceled', now()), ('s2', 'i2', 'pm', 1, 'USD', 'requires_action', now());`);
      const snapshot = async () =>
        (
          await db.query<{ row: string }>(`
            SELECT 'orders:' || id || ':' || kind || ':' || status AS row FROM orders
            UNION ALL SELECT 'payments:' || id || ':' || status FROM payments
            UNION ALL SELECT 'accepts:' || idempotency_key || ':' || status FROM accepts
            UNION ALL SELECT 'outbox:' || id || ':' || status FROM outbox_events
            UNION ALL SELECT 'sandbox:' || id || ':' || status FROM sandbox_charges ORDER BY 1`)
        ).rows.map((r) => r.row);
      const before = await snapshot();
      expect(before).toHaveLength(4 + 2 + 7 + 2 + 2);
      await apply(MIGRATION);
      expect(await snapshot()).toEqual(before);
      const typed = await db.query<{ type: string }>(`SELECT DISTINCT pg_typeof(status)::text AS type FROM accepts`);
      expect(typed.rows).toEqual([{ type: 'accept_status' }]);
      // The defaults survive as enum values.
      await db.query(`INSERT INTO outbox_events (id, type, accept_key, payload) VALUES ('v3', 't', 'k3', '{}')`);
      await db.query(`INSERT INTO orders (id, external_id, cart_id, status, currency, total_amount, updated_at) VALUES ('o5', 'e5', 'c', 'paid', 'USD', 1, now())`);
      const defaults = await db.query<{ status: string; kind: string }>(
        `SELECT (SELECT status FROM outbox_events WHERE id = 'v3') AS status, (SELECT kind FROM orders WHERE id = 'o5') AS kind`,
      );
      expect(defaults.rows[0]).toEqual({ status: 'pending', kind: 'parent' });
    } finally {
      await db.end();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });
});

describe('one clock', () => {
  it("an accept record's timestamps are the caller's now, not the database's", async () => {
    const key = `dbl-${uid()}`;
    const input = { acceptKey: key, fingerprint: 'fp', offerId: 'off_x', cartId: 'cart_x' };
    await recordAcceptOutcome(prisma, input, { status: 'expired', accept_id: key, code: 'sca_timeout', message: 'expired' }, null, NOW);
    const row = await prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } });
    expect([row.createdAt, row.updatedAt, row.completedAt]).toEqual([NOW, NOW, NOW]);
  });

  it("the shop's order and offer writes stamp the request's now", async () => {
    const externalId = `dbl-${uid()}`;
    const order = await putPaidParent(externalId, 'cart_1', new Date('2026-12-03T09:00:00.000Z'));
    expect(order).toMatchObject({ external_id: externalId, status: 'paid', total: 1000 });
    const stored = await prisma.order.findUniqueOrThrow({ where: { externalId }, include: { lineItems: true, savedPaymentMethod: true } });
    expect([stored.createdAt, stored.updatedAt, stored.lineItems[0]?.createdAt, stored.savedPaymentMethod?.createdAt]).toEqual([NOW, NOW, NOW, NOW]);

    const later = new Date(NOW.getTime() + 60_000);
    const offer = await createOffer(prisma, { product_id: 'p2', name: 'Socks', amount: 500, currency: 'USD', eligibility: { min_parent_total: 100 } }, NOW);
    await changeOffer(prisma, offer.id, { amount: 700, eligibility: null }, later);
    const storedOffer = await prisma.offer.findUniqueOrThrow({ where: { id: offer.id } });
    expect(storedOffer).toMatchObject({ amount: 700, eligibility: null, createdAt: NOW, updatedAt: later });
    expect(await findOffer(prisma, offer.id)).toMatchObject({ amount: 700, currency: 'USD', eligibility: null, max_per_order: 1 });
  });
});

describe('the order write (db/accepts.ts writeUpsellOrder)', () => {
  async function validatedAccept(strategy: 'child' | 'merge') {
    const externalId = `dbl-${uid()}`;
    const parent = await putPaidParent(externalId, 'cart_w', NOW);
    const offer = await createOffer(prisma, { product_id: 'p2', name: 'Socks', amount: 500, currency: 'USD' }, NOW);
    const key = `dbl-${uid()}`;
    const input = { acceptKey: key, fingerprint: 'fp', offerId: offer.id, cartId: 'cart_w', token: 't' };
    const plan: AcceptPlan = {
      acceptKey: key,
      offerId: offer.id,
      cartId: 'cart_w',
      parentOrderId: parent.id,
      parentExternalId: externalId,
      productId: 'p2',
      productName: 'Socks',
      amount: { value: 500, currency: 'USD' },
      gateway: 'sandbox',
      customerRef: null,
      methodRef: 'pm_card_visa',
      email: null,
      strategy,
      orderKind: strategy === 'merge' ? 'merged' : 'child',
      fellBackToChild: false,
      scaModal: true,
      scaTimeoutMs: 600_000,
      returnUrl: null,
    };
    await upsertValidatedAccept(prisma.sql, input, plan, NOW);
    return { input, plan, parentId: parent.id, externalId };
  }
  const counts = (key: string) =>
    prisma.$queryRaw<Array<{ payments: number; lines: number; outbox: number; accepts_events: number; answer_ms: number | null }>>`
      SELECT (SELECT count(*)::int FROM payments WHERE idempotency_key = ${key}) AS payments,
             (SELECT count(*)::int FROM line_items WHERE accept_key = ${key}) AS lines,
             (SELECT count(*)::int FROM outbox_events WHERE accept_key = ${key}) AS outbox,
             (SELECT count(*)::int FROM offer_events WHERE source_key = ${key} AND kind = 'accept') AS accepts_events,
             (SELECT answer_ms FROM offer_events WHERE source_key = ${key} AND kind = 'accept') AS answer_ms`;

  it('writes the child order, its line, the payment, the event and the analytics row once; a retry returns the first write', async () => {
    const { input, plan, parentId, externalId } = await validatedAccept('child');
    const answered = new Date(NOW.getTime() + 1_234);
    const first = await writeUpsellOrder(prisma.sql, input, plan, 'sbx_1', answered);
    expect(first).toMatchObject({ kind: 'child', fellBackToChild: false });
    expect(first.orderExternalId).toBe(`${externalId}-upsell-${first.orderId.slice(4)}`);
    const again = await writeUpsellOrder(prisma.sql, input, plan, 'sbx_1', new Date(answered.getTime() + 60_000));
    expect(again).toEqual(first);
    expect(await counts(plan.acceptKey)).toEqual([{ payments: 1, lines: 1, outbox: 1, accepts_events: 1, answer_ms: 1_234 }]);
    const child = await prisma.order.findUniqueOrThrow({ where: { id: first.orderId } });
    expect(child).toMatchObject({ kind: 'child', parentId, cartId: 'cart_w', totalAmount: 500, status: 'paid', paidAt: answered });
    const record = await prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: plan.acceptKey } });
    expect(record).toMatchObject({ status: 'succeeded', gatewayRef: 'sbx_1', childOrderId: first.orderId, completedAt: answered });
    expect(record.response).toMatchObject({ status: 'succeeded', order: { id: first.orderId, external_id: first.orderExternalId } });
  });

  it('a merge adds to the parent total; an accept whose first answer was requires_action gets no answer time here', async () => {
    const { input, plan, parentId } = await validatedAccept('merge');
    await recordAcceptOutcome(
      prisma.sql,
      input,
      {
        status: 'requires_action',
        accept_id: plan.acceptKey,
        offer_id: plan.offerId,
        amount: plan.amount,
        action: { type: 'redirect', gateway: 'sandbox', redirect_url: 'https://x.test/' },
        status_url: '/s',
      },
      'sbx_2',
      NOW,
    );
    const written = await writeUpsellOrder(prisma.sql, input, plan, 'sbx_2', new Date(NOW.getTime() + 1_000));
    expect(written).toMatchObject({ kind: 'merged', orderId: parentId });
    expect((await prisma.order.findUniqueOrThrow({ where: { id: parentId } })).totalAmount).toBe(1500);
    expect(await counts(plan.acceptKey)).toEqual([{ payments: 1, lines: 1, outbox: 1, accepts_events: 1, answer_ms: null }]);
  });

  it('a parent that is gone refuses the write for good, and nothing is written', async () => {
    const { input, plan, parentId } = await validatedAccept('child');
    await prisma.$executeRaw`DELETE FROM accepts WHERE idempotency_key = ${plan.acceptKey}`;
    await prisma.$executeRaw`DELETE FROM orders WHERE id = ${parentId}`;
    await expect(writeUpsellOrder(prisma.sql, input, plan, 'sbx_3', NOW)).rejects.toBeInstanceOf(OrderWriteRefusedError);
    expect(await counts(plan.acceptKey)).toEqual([{ payments: 0, lines: 0, outbox: 0, accepts_events: 0, answer_ms: null }]);
  });
});

describe('funnels and windows in db/', () => {
  const def = (): FunnelDefinition => ({
    name: 'Two steps',
    entry: 'up',
    max_accepts: 2,
    steps: [
      { id: 'up', offer_id: 'off_up', on_accept: 'down', on_decline: 'down', eligibility: { min_parent_total: 100 } },
      { id: 'down', offer_id: 'off_down', on_accept: 'end', on_decline: 'end', on_payment_declined: 'end' },
    ],
    starts_at: null,
    ends_at: null,
  });

  it("a funnel's stored steps read back as written, and steps of another shape are MalformedRecordError", async () => {
    const id = `fun_dbl${uid()}`;
    await saveFunnel(prisma, id, def(), 'USD', NOW);
    const row = await findFunnel(prisma, id);
    expect(row).toMatchObject({ createdAt: NOW, updatedAt: NOW });
    expect(funnelDefinition(row!)).toEqual(def());
    // A step's target stored as a number: a changed writer, or a hand edit.
    await prisma.$executeRaw`UPDATE funnels SET steps = jsonb_set(steps, '{0,on_accept}', '7') WHERE id = ${id}`;
    const changed = await findFunnel(prisma, id);
    const bad = caught(() => funnelDefinition(changed!));
    expect(bad).toBeInstanceOf(MalformedRecordError);
    expect(bad).toMatchObject({ column: 'funnels.steps' });
    // The suite shares one database: a broken funnel left behind would break every listing of live funnels.
    await prisma.$executeRaw`DELETE FROM funnels WHERE id = ${id}`;
  });

  it("answers, declines and the window are stamped with the caller's now; a stored next of another shape is refused", async () => {
    const funnelId = `fun_dbl${uid()}`;
    await saveFunnel(prisma, funnelId, def(), 'USD', NOW);
    const parent = `dbl-${uid()}`;
    const key = `dbl-${uid()}`;
    const later = new Date(NOW.getTime() + 5_000);
    await noteFunnelAnswer(prisma, { idempotencyKey: key, kind: 'decline', funnelId, stepId: 'up', offerId: 'off_up', parentExternalId: parent, cartId: 'cart_1' }, NOW);
    const next = { step_id: 'down', offer_id: 'off_down', name: 'Socks', amount: { value: 500, currency: 'USD' }, token: 'tok' };
    expect(await settleFunnelAnswer(prisma, key, 'declined_by_buyer', next, later)).toEqual(next);
    expect(await findFunnelAnswer(prisma, key)).toMatchObject({ funnelId, stepId: 'up', answeredAt: later, next });

    const body = { status: 'declined_by_buyer' as const, accept_id: key, offer_id: 'off_up', next };
    await recordBuyerDecline(
      prisma,
      { idempotencyKey: key, fingerprint: 'fp', jti: `jti-${uid()}`, offerId: 'off_up', parentExternalId: parent, cartId: 'cart_1', funnelId, stepId: 'up' },
      body,
      later,
    );
    expect(await findBuyerDecline(prisma, key)).toEqual({ fingerprint: 'fp', response: body });

    const window = await openWindowRow(prisma, parent, new Date(NOW.getTime() + 600_000), NOW);
    expect(window).toMatchObject({ status: 'open', closed_at: null });
    const closedAt = new Date(NOW.getTime() + 60_000);
    const eventId = await closeWindowRecord(prisma, { parentExternalId: parent, reason: 'funnel_ended' }, closedAt);
    expect(await closeWindowRecord(prisma, { parentExternalId: parent, reason: 'funnel_ended' }, later)).toBe(eventId);
    expect(await findWindow(prisma, parent)).toMatchObject({ status: 'closed', reason: 'funnel_ended', closed_at: closedAt });
    const event = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: eventId } });
    expect(event.createdAt).toEqual(closedAt);
    expect(event.payload).toMatchObject({ created_at: closedAt.toISOString(), data: { declined: [{ decline_id: key, step_id: 'up', declined_at: later.toISOString() }] } });
    expect((await windowContents(prisma, parent)).declined).toHaveLength(1);

    await prisma.$executeRaw`UPDATE funnel_answers SET next = '{"step_id": "down"}' WHERE idempotency_key = ${key}`;
    const err = await findFunnelAnswer(prisma, key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MalformedRecordError);
    expect(err).toMatchObject({ column: 'funnel_answers.next' });
  });
});
