/**
 * Money safety across gateways, on the sandbox (the embedded default) through the whole stack:
 * currency_unsupported answered like every gateway answers it, a success webhook for a closed
 * accept reconciled (refunded when its charge has no order), and the one currency table served to
 * storefronts. Rows are read from PostgreSQL; the sandbox's ledger is its sandbox_charges table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buyerMessage } from '../domain/buyer-messages.ts';
import { newId } from '../db/ids.ts';
import { reconcileWorkflowId } from '../workflows/reconcile-messages.ts';
import type { reconcileCharge } from '../workflows/reconcileCharge.ts';
import { accept, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { postSandboxEvent } from './helpers/webhooks.ts';
import { SANDBOX_WEBHOOK_SECRET, startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const postSandboxWebhook = (event: object) => postSandboxEvent(stack.app, event, SANDBOX_WEBHOOK_SECRET);

async function closed(key: string) {
  await stack.client.workflow.getHandle(key).result();
}

describe('sandbox: the same refusals and the same reconciliation as the real gateways', () => {
  it('a currency the gateway cannot take: 422 currency_unsupported before anything is charged', async () => {
    const { order, offer, body } = await readyToAccept(stack.app, { currency: 'ZZZ', total: 6000 }, { currency: 'ZZZ', amount: 1500 });
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toEqual({ status: 'rejected', accept_id: key, code: 'currency_unsupported', message: buyerMessage('currency_unsupported') });
    await closed(key);
    expect(await stack.prisma.sandboxCharge.count({ where: { metadata: { path: ['workflow_id'], equals: key } } })).toBe(0);
    expect(await stack.prisma.payment.count({ where: { idempotencyKey: key } })).toBe(0);
    expect(await stack.prisma.order.count({ where: { parentId: order.id } })).toBe(0);
  });

  it('a success webhook for a closed accept whose charge has no order: refunded, once, and recorded on the accept', async () => {
    const { offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_chargeDeclined' });
    const key = newKey();
    expect((await accept(stack.app, offer.id, key, body)).statusCode).toBe(402);
    await closed(key);
    // A charge for that accept that succeeded at the gateway with no order behind it.
    const charge = await stack.prisma.sandboxCharge.create({
      data: { id: newId('sbx'), idempotencyKey: `orphan-${key}`, methodRef: 'pm_card_visa', amount: 1500, currency: 'USD', status: 'succeeded', metadata: { workflow_id: key } },
    });
    const event = { type: 'charge.succeeded', data: { charge_id: charge.id, workflow_id: key, status: 'succeeded' } };

    const hook = await postSandboxWebhook(event);
    expect(hook.statusCode, hook.body).toBe(200);
    expect(hook.json()).toEqual({ received: true, handled: true });
    const handle = stack.client.workflow.getHandle<typeof reconcileCharge>(reconcileWorkflowId('sandbox', charge.id));
    const result = await handle.result();
    expect(result).toEqual({ outcome: 'refunded', refundRef: `${charge.id}_refund` });
    expect((await stack.prisma.sandboxCharge.findUniqueOrThrow({ where: { id: charge.id } })).status).toBe('refunded');
    const record = await stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } });
    expect(record).toMatchObject({ status: 'declined', refundRef: `${charge.id}_refund` });
    expect(record.refundedAt).toBeInstanceOf(Date);

    // The gateway sends it again: the same run answers, no second reconciliation.
    const { runId } = await handle.describe();
    expect((await postSandboxWebhook(event)).json()).toEqual({ received: true, handled: true });
    expect((await handle.describe()).runId).toBe(runId);
  });

  it('a success webhook for a closed accept that has its order refunds nothing', async () => {
    const { offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_visa' });
    const key = newKey();
    const res = await accept(stack.app, offer.id, key, body);
    expect(res.statusCode, res.body).toBe(200);
    await closed(key);
    const payment = await stack.prisma.payment.findUniqueOrThrow({ where: { idempotencyKey: key } });
    const hook = await postSandboxWebhook({ type: 'charge.succeeded', data: { charge_id: payment.gatewayRef, workflow_id: key, status: 'succeeded' } });
    expect(hook.json()).toEqual({ received: true, handled: true });
    expect(await stack.client.workflow.getHandle<typeof reconcileCharge>(reconcileWorkflowId('sandbox', payment.gatewayRef)).result()).toEqual({ outcome: 'has_order' });
    expect((await stack.prisma.sandboxCharge.findUniqueOrThrow({ where: { id: payment.gatewayRef } })).status).toBe('succeeded');
    expect((await stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: key } })).refundRef).toBeNull();
  });

  it('a failure webhook for a closed accept starts nothing', async () => {
    const key = newKey();
    const hook = await postSandboxWebhook({ type: 'charge.failed', data: { charge_id: 'sbx_unknown_1', workflow_id: key, status: 'declined' } });
    expect(hook.json()).toEqual({ received: true, handled: false });
  });
});

describe('the currency table storefronts format with', () => {
  it('GET /wp-json/ocart/v1/currencies: ISO 4217 digits per code, cacheable, public, documented', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/wp-json/ocart/v1/currencies' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toMatch(/public/);
    const table = res.json<Record<string, number>>();
    expect(table).toMatchObject({ USD: 2, EUR: 2, JPY: 0, KWD: 3, BHD: 3, ISK: 0, UGX: 0, BIF: 0, DJF: 0, GNF: 0, KMF: 0, VUV: 0, XPF: 0, MGA: 2, HUF: 2 });
    expect(table).not.toHaveProperty('XAU');
    const doc = (await stack.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
    expect(doc.paths).toHaveProperty(['/wp-json/ocart/v1/currencies', 'get']);
  });

  it('upsells.js carries the same table, written in when it is served', async () => {
    const res = await stack.app.inject({ method: 'GET', url: '/wp-json/ocart/v1/upsells.js' });
    expect(res.statusCode).toBe(200);
    const table = (await stack.app.inject({ method: 'GET', url: '/wp-json/ocart/v1/currencies' })).body;
    expect(res.body).toContain(`var CURRENCY_DIGITS = ${table};`);
    expect(res.body).not.toContain('OCART_CURRENCY_DIGITS');
    expect(res.body).not.toMatch(/ZERO_DECIMAL|THREE_DECIMAL/);
  });
});
