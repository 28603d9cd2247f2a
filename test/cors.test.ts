import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const SHOP = 'https://shop.example';
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ env: { OCART_ALLOWED_ORIGINS: `${SHOP},https://www.shop.example` } });
});
afterAll(async () => {
  await stack?.stop();
});

describe('CORS for thank-you pages on another origin', () => {
  it('answers the preflight of an accept from an allowed origin', async () => {
    const res = await stack.app.inject({
      method: 'OPTIONS',
      url: '/wp-json/ocart/v1/upsells/off_1/accept',
      headers: { origin: SHOP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-idempotency-key' },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(SHOP);
    expect(String(res.headers['access-control-allow-headers'])).toMatch(/X-Idempotency-Key/);
  });

  it('lets the page read the accept answer and the replay header', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const res = await stack.app.inject({
      method: 'POST',
      url: `/wp-json/ocart/v1/upsells/${offer.id}/accept`,
      headers: { origin: SHOP, 'content-type': 'application/json', 'x-idempotency-key': newKey() },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(SHOP);
    expect(String(res.headers['access-control-expose-headers'])).toMatch(/Idempotent-Replayed/);
  });

  it('gives nothing to other origins, nor to the shop API, webhooks or docs', async () => {
    const { offer, body } = await readyToAccept(stack.app);
    const evil = await stack.app.inject({
      method: 'POST',
      url: `/wp-json/ocart/v1/upsells/${offer.id}/accept`,
      headers: { origin: 'https://evil.example', 'content-type': 'application/json', 'x-idempotency-key': newKey() },
      payload: body,
    });
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    for (const url of ['/wp-json/ocart/v1/settings', '/wp-json/ocart/v1/webhooks/sandbox', '/docs/json']) {
      const res = await stack.app.inject({ method: 'OPTIONS', url, headers: { origin: SHOP, 'access-control-request-method': 'POST' } });
      expect(res.headers['access-control-allow-origin'], url).toBeUndefined();
    }
    const shop = await stack.app.inject({ method: 'GET', url: '/wp-json/ocart/v1/settings', headers: { ...auth, origin: SHOP } });
    expect(shop.headers['access-control-allow-origin']).toBeUndefined();
  });
});
