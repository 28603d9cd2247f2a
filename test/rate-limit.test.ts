import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWindowLimiter } from '../api/rate-limit.ts';
import { expectNothingCharged } from './helpers/assertions.ts';
import { accept, readyToAccept } from './helpers/shop.ts';
import { newKey, startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ env: { OCART_RATE_LIMIT_CART_PER_MIN: '3', OCART_RATE_LIMIT_IP_PER_MIN: '8' } });
});
afterAll(async () => {
  await stack?.stop();
});

describe('rate limiting on the accept route', () => {
  it('per cart: the 4th accept in a minute gets 429 rate_limited with Retry-After, and charges nothing', async () => {
    const { offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_chargeDeclined' });
    for (let i = 0; i < 3; i++) expect((await accept(stack.app, offer.id, newKey(), body)).statusCode).not.toBe(429);
    const key = newKey();
    const limited = await accept(stack.app, offer.id, key, body);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'rate_limited' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    await expectNothingCharged(stack.prisma, key);
    expect(await stack.prisma.accept.count({ where: { idempotencyKey: key } })).toBe(0);
  });

  it('per IP: other carts from the same address are limited too', async () => {
    // 4 requests were counted for this IP above; 4 more from fresh carts reach the limit of 8.
    for (let i = 0; i < 4; i++) {
      const { offer, body } = await readyToAccept(stack.app, { methodRef: 'pm_card_chargeDeclined' });
      expect((await accept(stack.app, offer.id, newKey(), body)).statusCode).not.toBe(429);
    }
    const { offer, body } = await readyToAccept(stack.app);
    const res = await accept(stack.app, offer.id, newKey(), body);
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBeDefined();
  });

  it('the window resets after a minute', () => {
    let t = 0;
    const limiter = createWindowLimiter(2, 60_000, () => t);
    expect([limiter.hit('a'), limiter.hit('a'), limiter.hit('a') > 0]).toEqual([0, 0, true]);
    t = 59_000;
    expect(limiter.hit('a')).toBe(1);
    t = 60_000;
    expect(limiter.hit('a')).toBe(0);
  });
});
