/**
 * The accept's stored JSON is parsed with the contract's schemas when it is read back, against the
 * real database: a stored plan or answer that does not fit is a typed error (MalformedRecordError),
 * never passed on as if it had the shape, and nothing is charged or answered from it.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.ts';
import { statusUrl, type AcceptInput } from '../contract/accept.ts';
import { MalformedRecordError } from '../contract/records.ts';
import { requestFingerprint } from '../domain/idempotency.ts';
import { buildGateways } from '../gateways/index.ts';
import { sandboxCharges } from './helpers/assertions.ts';
import { accept, readyToAccept } from './helpers/shop.ts';
import { newKey, startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
let activities: ReturnType<typeof createActivities>;

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

describe('stored accept JSON, read back', () => {
  it('a recorded plan that does not fit its schema stops the re-run with a typed error, before any charge', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const acceptKey = newKey();
    const input: AcceptInput = { acceptKey, offerId: offer.id, token: body.token, cartId: body.cart_id, fingerprint: requestFingerprint(offer.id, body.token, body.cart_id) };
    const { plan } = await run(() => activities.prepareAccept(input));
    expect(plan.amount.value).toBe(offer.amount);

    // The amount as a string: a cast would hand the gateway "1500" to charge.
    await stack.prisma.$executeRaw`
      UPDATE accepts SET validated_plan = jsonb_set(validated_plan::jsonb, '{amount,value}', to_jsonb(validated_plan::jsonb #>> '{amount,value}'))
      WHERE idempotency_key = ${acceptKey}`;
    const failed = await run(() => activities.prepareAccept(input)).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(MalformedRecordError);
    expect((failed as MalformedRecordError).column).toBe('validated plan');
    expect((failed as MalformedRecordError).problems.join(' ')).toContain('/amount/value');
    expect(await sandboxCharges(stack.prisma, acceptKey)).toEqual([]);
  });

  it('a recorded answer that does not fit is a 500 internal_error on replay and on the status route, never sent as it is', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const key = newKey();
    const first = await accept(stack.app, offer.id, key, body);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ status: 'succeeded', accept_id: key });

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
