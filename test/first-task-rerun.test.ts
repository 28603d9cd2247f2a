/**
 * The accept's first workflow task (validation, the method check, the charge and the order write,
 * all local activities) can run again after a crash. When that re-run fails before it reaches the
 * charge (the database gone for longer than validation's attempts), the workflow calls
 * voidRecordedCharge: whatever an earlier run of the task charged under this key, and whose order
 * is not written, is voided. These run the real activities against PostgreSQL and the sandbox
 * gateway's ledger, in the order the task runs them.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateways } from '../gateways/index.ts';
import { createActivities } from '../activities/index.ts';
import { requestFingerprint } from '../domain/idempotency.ts';
import type { AcceptInput } from '../workflows/messages.ts';
import { sandboxCharges } from './helpers/assertions.ts';
import { readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
let activities: ReturnType<typeof createActivities>;
/** Runs one activity call in an activity context (its logger and heartbeat), as the worker would. */
async function run<R>(work: () => Promise<R>): Promise<R> {
  let out: { value: R } | undefined;
  await new MockActivityEnvironment().run(async () => {
    out = { value: await work() };
  });
  return out!.value;
}

beforeAll(async () => {
  stack = await startTestStack();
  const { registry } = buildGateways(stack.config.gateways, { prisma: stack.prisma, publicBaseUrl: stack.config.publicBaseUrl });
  activities = createActivities({
    prisma: stack.prisma,
    gateways: registry,
    clock: () => new Date(),
    tokenKeys: stack.config.tokenKeys,
    publicBaseUrl: stack.config.publicBaseUrl,
  });
});
afterAll(async () => {
  await stack?.stop();
});

async function chargedAccept(): Promise<{ input: AcceptInput; chargeRef: string }> {
  const { offer, body } = await readyToAccept(stack.app);
  const acceptKey = newKey();
  const input: AcceptInput = { acceptKey, offerId: offer.id, token: body.token, cartId: body.cart_id, fingerprint: requestFingerprint(offer.id, body.token, body.cart_id) };
  const { plan } = await run(() => activities.prepareAccept(input));
  const charge = await run(() => activities.chargeOffSession(plan));
  if (charge.status !== 'succeeded') throw new Error(`the sandbox charge is ${charge.status}`);
  return { input, chargeRef: charge.chargeRef };
}

describe('a failed re-run of the first workflow task', () => {
  it('refunds the charge an earlier run of the task made, when its order was never written', async () => {
    const { input } = await chargedAccept();
    expect((await sandboxCharges(stack.prisma, input.acceptKey)).map((c) => c.status)).toEqual(['succeeded']);
    await run(() => activities.voidRecordedCharge(input));
    expect((await sandboxCharges(stack.prisma, input.acceptKey)).map((c) => c.status)).toEqual(['refunded']);
  });

  it('leaves a charge whose order is written: never a refund of a paid order', async () => {
    const { input, chargeRef } = await chargedAccept();
    const { plan } = await run(() => activities.prepareAccept(input));
    await run(() => activities.writeOrder(input, plan, chargeRef));
    await run(() => activities.voidRecordedCharge(input));
    expect((await sandboxCharges(stack.prisma, input.acceptKey)).map((c) => c.status)).toEqual(['succeeded']);
  });

  it('does nothing before the method check passed: no charge can have started', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const input: AcceptInput = {
      acceptKey: newKey(),
      offerId: offer.id,
      token: body.token,
      cartId: body.cart_id,
      fingerprint: requestFingerprint(offer.id, body.token, body.cart_id),
    };
    await run(() => activities.voidRecordedCharge(input));
    expect(await sandboxCharges(stack.prisma, input.acceptKey)).toEqual([]);
  });
});
