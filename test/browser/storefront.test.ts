/**
 * The drop-in script on the demo thank-you page, in real headless Chromium, against the
 * API on a real port and the real stack (Temporal dev server, PostgreSQL, sandbox gateway).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Request } from 'playwright-core';
import { sandboxCharges } from '../helpers/assertions.ts';
import { API_KEY, type TestStack } from '../helpers/stack.ts';
import { newTab, screenshot, startDemoShop, stopDemoShop, type Chromium } from './browser.ts';

let stack: TestStack;
let browser: Chromium;
let base: string;

beforeAll(async () => {
  ({ stack, browser, base } = await startDemoShop());
});
afterAll(async () => {
  await stopDemoShop({ stack, browser });
});

const ACCEPT_URL = /\/wp-json\/ocart\/v1\/upsells\/[^/]+\/accept$/;

async function openDemo() {
  const tab = await newTab(browser);
  await tab.page.goto(`${base}/demo`);
  for (const outcome of ['success', 'sca', 'decline']) {
    await tab.page.waitForSelector(`#offer-${outcome}[data-ocart-state="idle"]`);
  }
  return tab;
}

const offer = (page: Page, outcome: string) => page.locator(`#offer-${outcome}`);

async function acceptIdOf(page: Page, outcome: string): Promise<string> {
  const key = await offer(page, outcome).getAttribute('data-accept-id');
  expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  return key!;
}

async function waitForState(page: Page, outcome: string, state: string) {
  await page.waitForSelector(`#offer-${outcome}[data-ocart-state="${state}"]`, { timeout: 30_000 });
}

/** What the database holds for one accept: the gateway's own ledger, payments, and orders. */
async function ledger(key: string) {
  const charges = await sandboxCharges(stack.prisma, key);
  const payments = await stack.prisma.payment.findMany({ where: { idempotencyKey: key } });
  const orders = await stack.prisma.order.findMany({ where: { lineItems: { some: { acceptKey: key } } }, include: { parent: true } });
  return { charges, payments, orders };
}

function childCount(externalId: string) {
  return stack.prisma.order.count({ where: { parent: { externalId } } });
}

describe('the drop-in script', () => {
  it('is served at its stable URL as JavaScript, with cache headers and an ETag', async () => {
    const res = await fetch(`${base}/wp-json/ocart/v1/upsells.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toMatch(/public, max-age=\d+/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = res.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(await res.text()).toContain('window.OCartUpsells');
    const again = await fetch(`${base}/wp-json/ocart/v1/upsells.js`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
  });
});

describe('demo thank-you page in Chromium', () => {
  it('success: one click charges the saved card and shows the new order with its amount', async () => {
    const { page, errors } = await openDemo();
    const before = await childCount('demo-order-success');
    const status = offer(page, 'success').locator('[data-ocart-status]');
    expect(await status.getAttribute('role')).toBe('status');
    expect(await status.getAttribute('aria-live')).toBe('polite');

    await offer(page, 'success').locator('[data-ocart-accept]').click();
    await waitForState(page, 'success', 'succeeded');
    const key = await acceptIdOf(page, 'success');

    await expect.poll(() => status.textContent()).toMatch(/Added to your order\. \$15\.00 was charged .* order demo-order-success-upsell-/);
    expect(await offer(page, 'success').locator('[data-ocart-accept]').count()).toBe(0);
    expect(await offer(page, 'success').getAttribute('aria-busy')).toBeNull();
    // The page reads the written order back from the API.
    const ref = page.locator('#result-success [data-order-ref]');
    await ref.waitFor();
    expect(await ref.textContent()).toMatch(/^demo-order-success-upsell-/);
    expect(await page.locator('#result-success').textContent()).toContain('child of demo-order-success');

    const { charges, payments, orders } = await ledger(key);
    expect(charges.map((c) => [c.status, c.amount, c.currency])).toEqual([['succeeded', 1500, 'USD']]);
    expect(payments).toHaveLength(1);
    expect(orders.map((o) => [o.externalId, o.kind, o.parent?.externalId])).toEqual([[await ref.textContent(), 'child', 'demo-order-success']]);
    expect(await childCount('demo-order-success')).toBe(before + 1);
    expect(errors).toEqual([]);
    await screenshot(page, 'success');
    await page.close();
  });

  it('SCA approved: the sandbox bank page, Approve, back to the thank-you page, and an order', async () => {
    const { page, errors } = await openDemo();
    await offer(page, 'sca').locator('[data-ocart-accept]').click();
    await page.waitForURL(/\/sandbox\/authenticate\/sbx_[^?]+\?return_url=%2Fdemo$/);
    await page.getByRole('heading', { name: 'Confirm your payment' }).waitFor();
    expect(await page.locator('.amount').textContent()).toBe('$15.00');
    await screenshot(page, 'sca-bank-page');

    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${base}/demo`);
    await waitForState(page, 'sca', 'succeeded');
    const key = await acceptIdOf(page, 'sca');
    await page.locator('#result-sca [data-order-ref]').waitFor();
    expect(await offer(page, 'sca').locator('[data-ocart-status]').textContent()).toMatch(/Added to your order\. \$15\.00 was charged/);

    const { charges, payments, orders } = await ledger(key);
    expect(charges.map((c) => c.status)).toEqual(['succeeded']);
    expect(payments).toHaveLength(1);
    expect(orders).toHaveLength(1);
    expect(orders[0]!.parent?.externalId).toBe('demo-order-sca');
    expect(errors).toEqual([]);
    await screenshot(page, 'sca-approve');
    await page.close();
  });

  it('data-return-url on a shop page: the accept names it, the bank returns the buyer there, and the page finishes the accept', async () => {
    // A shop's own thank-you page (served here through the browser's router), with the script and
    // data-return-url. The sandbox bank page takes its way back from the script; that Stripe takes it
    // from the accept's return_url is tested in test/stripe.test.ts.
    const minted = await fetch(`${base}/wp-json/ocart/v1/upsells/demo-sca/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ order_id: 'demo-order-sca', cart_id: 'demo-cart' }),
    }).then((r) => r.json() as Promise<{ token: string }>);
    const shopPage = `<!doctype html><html lang="en"><head><title>Thank you</title></head><body>
      <h1>Thank you for your order</h1>
      <div id="offer-shop" data-ocart-upsell data-offer-id="demo-sca" data-token="${minted.token}" data-cart-id="demo-cart"
           data-return-url="/shop/thank-you?back=1"></div>
      <script src="/wp-json/ocart/v1/upsells.js"></script></body></html>`;
    const { page, errors } = await newTab(browser);
    await page.route(/\/shop\/thank-you/, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: shopPage }));
    const sent: Request[] = [];
    page.on('request', (r) => {
      if (ACCEPT_URL.test(r.url()) && r.method() === 'POST') sent.push(r);
    });
    await page.goto(`${base}/shop/thank-you`);
    await page.waitForSelector('#offer-shop[data-ocart-state="idle"]');
    await page.locator('#offer-shop [data-ocart-accept]').click();
    await page.waitForURL(/\/sandbox\/authenticate\/sbx_/);
    expect(sent.map((r) => (JSON.parse(r.postData() ?? '{}') as { return_url?: string }).return_url)).toEqual([`${base}/shop/thank-you?back=1`]);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${base}/shop/thank-you?back=1`);
    // The bank's 303 landed on the shop's URL. Playwright's router does not see a redirect's target,
    // so load that URL once more: the shop's page, as the buyer's browser would have received it.
    await page.reload();
    await page.waitForSelector('#offer-shop[data-ocart-state="succeeded"]', { timeout: 30_000 });
    const key = await page.locator('#offer-shop').getAttribute('data-accept-id');
    const { charges, orders } = await ledger(key!);
    expect(charges.map((c) => c.status)).toEqual(['succeeded']);
    expect(orders.map((o) => o.parent?.externalId)).toEqual(['demo-order-sca']);
    expect(errors).toEqual([]);
    await screenshot(page, 'return-url-shop-page');
    await page.close();
  });

  it('SCA failed: Fail on the bank page ends declined, nothing charged, offer withdrawn', async () => {
    const { page, errors } = await openDemo();
    await offer(page, 'sca').locator('[data-ocart-accept]').click();
    await page.waitForURL(/\/sandbox\/authenticate\/sbx_/);
    await page.getByRole('button', { name: 'Fail' }).click();
    await page.waitForURL(`${base}/demo`);
    await waitForState(page, 'sca', 'declined');
    const key = await acceptIdOf(page, 'sca');
    expect(await offer(page, 'sca').locator('[data-ocart-status]').textContent()).toBe(
      'Payment declined. Your bank did not confirm the payment. You have not been charged, and this offer has been withdrawn.',
    );
    expect(await offer(page, 'sca').locator('[data-ocart-accept]').count()).toBe(0);
    expect(await page.locator('#result-sca').textContent()).toContain('declined (authentication_failed)');

    const { charges, payments, orders } = await ledger(key);
    expect(charges.map((c) => [c.status, c.declineCode])).toEqual([['declined', 'authentication_failed']]);
    expect(payments).toHaveLength(0);
    expect(orders).toHaveLength(0);
    expect(errors).toEqual([]);
    await screenshot(page, 'sca-fail');
    await page.close();
  });

  it('declined: a clear message, no charge, and the offer is withdrawn for good', async () => {
    const { page, errors } = await openDemo();
    await offer(page, 'decline').locator('[data-ocart-accept]').click();
    await waitForState(page, 'decline', 'declined');
    const key = await acceptIdOf(page, 'decline');
    expect(await offer(page, 'decline').locator('[data-ocart-status]').textContent()).toMatch(
      /^Payment declined\. (Your|The) card was declined\. You have not been charged, and this offer has been withdrawn\.$/,
    );
    expect(await offer(page, 'decline').locator('button').count()).toBe(0);
    const { payments, orders } = await ledger(key);
    expect(payments).toHaveLength(0);
    expect(orders).toHaveLength(0);

    // Withdrawn for good: a reload of this tab shows the outcome, not the button.
    await page.reload();
    await waitForState(page, 'decline', 'declined');
    expect(await offer(page, 'decline').locator('[data-ocart-accept]').count()).toBe(0);
    expect(await acceptIdOf(page, 'decline')).toBe(key);
    expect(errors).toEqual([]);
    await screenshot(page, 'decline');
    await page.close();
  });

  it('a fast double click is one request, one charge and one order', async () => {
    const { page, errors } = await openDemo();
    const before = await childCount('demo-order-success');
    const posts: Request[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && ACCEPT_URL.test(r.url())) posts.push(r);
    });
    // Hold the answer back a little, so the second click lands while the first is in flight.
    await page.route(ACCEPT_URL, async (route) => {
      await new Promise((r) => setTimeout(r, 700));
      await route.continue();
    });
    const button = offer(page, 'success').locator('[data-ocart-accept]');
    await button.dblclick();
    // And a burst of clicks straight from the page, as an impatient buyer or a flaky mouse would.
    await page.evaluate(() => {
      const b = document.querySelector<HTMLButtonElement>('#offer-success [data-ocart-accept]');
      b?.click();
      b?.click();
    });
    expect(await button.isDisabled()).toBe(true);
    expect(await offer(page, 'success').getAttribute('aria-busy')).toBe('true');
    expect(await button.getAttribute('aria-disabled')).toBe('true');

    await waitForState(page, 'success', 'succeeded');
    const key = await acceptIdOf(page, 'success');
    expect(posts).toHaveLength(1);
    expect(posts.map((r) => r.headers()['x-idempotency-key'])).toEqual([key]);
    const { charges, payments, orders } = await ledger(key);
    expect(charges).toHaveLength(1);
    expect(payments).toHaveLength(1);
    expect(orders).toHaveLength(1);
    expect(await childCount('demo-order-success')).toBe(before + 1);
    expect(errors).toEqual([]);
    await screenshot(page, 'double-click');
    await page.close();
  });

  it('a lost answer shows a retry button that reuses the same key: still one charge', async () => {
    const { page, errors } = await openDemo();
    const keys: string[] = [];
    let first = true;
    await page.route(ACCEPT_URL, async (route) => {
      keys.push(route.request().headers()['x-idempotency-key']!);
      if (first) {
        first = false;
        // The request reaches the server (and charges), but the answer never reaches the page.
        await route.fetch();
        await route.abort('connectionreset');
        return;
      }
      await route.continue();
    });
    await offer(page, 'success').locator('[data-ocart-accept]').click();
    await waitForState(page, 'success', 'error');
    expect(await offer(page, 'success').locator('[data-ocart-status]').textContent()).toMatch(/Something went wrong\..*charged at most once/);
    // One way forward: the retry button (the offer's own button waits behind it).
    expect(await offer(page, 'success').locator('[data-ocart-accept]').isVisible()).toBe(false);
    expect(await offer(page, 'success').getByRole('button', { name: 'Try again' }).isEnabled()).toBe(true);
    await screenshot(page, 'error-retry');
    await offer(page, 'success').getByRole('button', { name: 'Try again' }).click();
    await waitForState(page, 'success', 'succeeded');
    const key = await acceptIdOf(page, 'success');
    expect(keys).toEqual([key, key]);
    const { charges, payments, orders } = await ledger(key);
    expect(charges).toHaveLength(1);
    expect(payments).toHaveLength(1);
    expect(orders).toHaveLength(1);
    expect(errors).toEqual([]);
    await screenshot(page, 'retry-succeeded');
    await page.close();
  });

  it('a reload in the middle of SCA resumes: same key, back to the bank, one charge, one order', async () => {
    const { page, errors } = await openDemo();
    await offer(page, 'sca').locator('[data-ocart-accept]').click();
    await page.waitForURL(/\/sandbox\/authenticate\/sbx_/);
    const bankUrl = page.url();
    // The buyer reloads the bank page, then goes back to the shop without answering, and reloads it.
    await page.reload();
    await page.getByRole('button', { name: 'Approve' }).waitFor();
    await page.goBack();
    await page.waitForURL(`${base}/demo`);
    await page.reload();
    await waitForState(page, 'sca', 'requires_action');
    const key = await acceptIdOf(page, 'sca');
    expect(await offer(page, 'sca').locator('[data-ocart-status]').textContent()).toBe('Waiting for your bank to confirm this payment\u2026');
    expect(await offer(page, 'sca').getAttribute('aria-busy')).toBe('true');
    const cont = offer(page, 'sca').getByRole('link', { name: 'Continue to your bank' });
    expect(await cont.getAttribute('href')).toBe(bankUrl);
    expect((await sandboxCharges(stack.prisma, key)).map((c) => c.status)).toEqual(['requires_action']);
    await screenshot(page, 'sca-reload-waiting');

    await cont.click();
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${base}/demo`);
    await waitForState(page, 'sca', 'succeeded');
    expect(await acceptIdOf(page, 'sca')).toBe(key);
    await page.locator('#result-sca [data-order-ref]').waitFor();
    const { charges, payments, orders } = await ledger(key);
    expect(charges.map((c) => c.status)).toEqual(['succeeded']);
    expect(payments).toHaveLength(1);
    expect(orders).toHaveLength(1);
    expect(errors).toEqual([]);
    await screenshot(page, 'sca-reload');
    await page.close();
  });
});
