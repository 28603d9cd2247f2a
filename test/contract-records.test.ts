/**
 * The accept's stored JSON is parsed with the contract's schemas when it is read back, against the
 * real database: a stored plan or answer that does not fit is a typed error (MalformedRecordError),
 * never passed on as if it had the shape.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRecordedPlan } from '../db/accepts.ts';
import { statusUrl } from '../contract/accept.ts';
import { MalformedRecordError } from '../contract/records.ts';
import { requestFingerprint } from '../domain/idempotency.ts';
import { sandboxCharges } from './helpers/assertions.ts';
import { accept, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** A finished accept: one charge, its plan and answer recorded. */
async function finishedAccept() {
  const { offer, body } = await readyToAccept(stack.app);
  const key = newKey();
  const res = await accept(stack.app, offer.id, key, body);
  expect(res.statusCode).toBe(200);
  expect(res.json()).toMatchObject({ status: 'succeeded', accept_id: key });
  return { offer, body, key, fingerprint: requestFingerprint(offer.id, body.token, body.cart_id) };
}

describe('stored accept JSON, read back', () => {
  it('a recorded plan that does not fit its schema is a typed error when a re-run reads it, never a plan', async () => {
    const { key, fingerprint } = await finishedAccept();
    // As an open accept's is read (a re-run of its first task): the plan as recorded.
    await stack.prisma.$executeRaw`UPDATE accepts SET completed_at = NULL WHERE idempotency_key = ${key}`;
    const recorded = await findRecordedPlan(stack.prisma, { acceptKey: key, fingerprint });
    expect(recorded?.plan).toMatchObject({ acceptKey: key, amount: { currency: 'USD' } });
    expect(Number.isInteger(recorded?.plan.amount.value)).toBe(true);

    // The amount as a string: a cast would hand the gateway "1500" to charge.
    await stack.prisma.$executeRaw`
      UPDATE accepts SET validated_plan = jsonb_set(validated_plan::jsonb, '{amount,value}', to_jsonb(validated_plan::jsonb #>> '{amount,value}'))
      WHERE idempotency_key = ${key}`;
    const failed = await findRecordedPlan(stack.prisma, { acceptKey: key, fingerprint }).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(MalformedRecordError);
    expect((failed as MalformedRecordError).column).toBe('validated plan');
    expect((failed as MalformedRecordError).problems.join(' ')).toContain('/amount/value');
  });

  it('a recorded answer that does not fit is a 500 internal_error on replay and on the status route, never sent as it is', async () => {
    const { offer, body, key } = await finishedAccept();
    await stack.prisma.$executeRaw`
      UPDATE accepts SET response = '{"status":"succeeded","accept_id":"other"}'::jsonb, state = '{"status":"paid","accept_id":"other"}'::jsonb
      WHERE idempotency_key = ${key}`;
    const replay = await accept(stack.app, offer.id, key, body);
    expect(replay.statusCode).toBe(500);
    expect(replay.json()).toMatchObject({ status: 'error', code: 'internal_error', accept_id: key });
    const status = await stack.app.inject({ method: 'GET', url: statusUrl(key, body.cart_id) });
    expect(status.statusCode).toBe(500);
    expect(status.json()).toMatchObject({ status: 'error', code: 'internal_error', accept_id: key });
    // One charge in all: the replay started nothing.
    expect(await sandboxCharges(stack.prisma, key)).toHaveLength(1);
  });
});
