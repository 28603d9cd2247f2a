/**
 * The merchant console (/admin) in Chromium: a seeded offer's accepts (succeeded, declined card, SCA
 * abandoned), a buyer decline, impressions and a refund, all through the real routes; sign in with the
 * shop API key, read the figures on the page and check them against the database; ask why an offer is
 * not shown; follow an accept to its Temporal UI page; refund from the page through its confirm step and
 * count the refund in the sandbox gateway's ledger. The key never reaches a cookie or web storage.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { accept, auth, createOffer, mintToken, registerParentOrder } from '../helpers/shop.ts';
import { newKey } from '../helpers/ids.ts';
import { API_KEY, startTestStack, type TestStack } from '../helpers/stack.ts';
import { launchChromium, newTab, screenshot, type Chromium } from './browser.ts';

let stack: TestStack;
let browser: Chromium;
const ui = inject('temporalUiUrl');

beforeAll(async () => {
  stack = await startTestStack({
    listen: true,
    env: { TEMPORAL_UI_URL: ui, OCART_RATE_LIMIT_CART_PER_MIN: '100000', OCART_RATE_LIMIT_IP_PER_MIN: '100000' },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const usd = (minor: number) => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(minor / 100);
const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  stack.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify(payload) });
const patchSettings = (p: Record<string, unknown>) => stack.app.inject({ method: 'PATCH', url: '/wp-json/ocart/v1/settings', headers: auth, payload: p });

/** A fresh paid parent with the given saved method, a token for the offer, and the impression the script would report. */
async function buyer(offerId: string, methodRef: string) {
  const order = await registerParentOrder(stack.app, { methodRef });
  const { token } = await mintToken(stack.app, offerId, order.externalId, order.cartId);
  const body = { token, cart_id: order.cartId };
  expect((await post(`/wp-json/ocart/v1/upsells/${offerId}/impressions`, body)).statusCode).toBe(202);
  return { order, body };
}

async function seed() {
  const offer = await createOffer(stack.app, { amount: 1500, currency: 'USD', orderStrategy: 'child' });
  const keys: Record<string, string> = {};
  const parents: Record<string, string> = {};
  for (const name of ['paid', 'partly', 'toRefund']) {
    const b = await buyer(offer.id, 'pm_card_visa');
    keys[name] = newKey('acc');
    parents[name] = b.order.externalId;
    expect((await accept(stack.app, offer.id, keys[name], b.body)).statusCode).toBe(200);
  }
  const declined = await buyer(offer.id, 'pm_card_chargeDeclined');
  keys.declined = newKey('acc');
  expect((await accept(stack.app, offer.id, keys.declined, declined.body)).statusCode).toBe(402);

  // An SCA the buyer never finishes: a short timeout, taken into this accept's plan only.
  expect((await patchSettings({ 'upsells.sca_timeout_min': 0.05 })).statusCode).toBe(200);
  const sca = await buyer(offer.id, 'pm_card_authenticationRequired');
  keys.abandoned = newKey('acc');
  try {
    expect((await accept(stack.app, offer.id, keys.abandoned, sca.body)).statusCode).toBe(202);
  } finally {
    await patchSettings({ 'upsells.sca_timeout_min': 30 });
  }

  const no = await buyer(offer.id, 'pm_card_visa');
  expect((await post(`/wp-json/ocart/v1/upsells/${offer.id}/decline`, no.body, { 'x-idempotency-key': newKey('dec') })).statusCode).toBe(200);

  // A partial refund through the shop API, before the page is opened.
  const partial = await post(`/wp-json/ocart/v1/upsells/accepts/${keys.partly}/refund`, { amount: 500 }, { ...auth, 'idempotency-key': newKey('rf') });
  expect(partial.statusCode, partial.body).toBe(200);

  await stack.client.workflow.getHandle(keys.abandoned).result();
  return { offer, keys, parents };
}

/** The figures the console should show for the offer, straight from the rows. */
async function figuresFromDatabase(offerId: string) {
  const accepts = await stack.prisma.accept.findMany({ where: { offerId } });
  const succeeded = accepts.filter((a) => a.status === 'succeeded').map((a) => a.idempotencyKey);
  const payments = await stack.prisma.payment.findMany({ where: { idempotencyKey: { in: succeeded } } });
  const refunds = await stack.prisma.refund.findMany({ where: { acceptId: { in: succeeded }, status: { in: ['succeeded', 'pending'] } } });
  const impressions = await stack.prisma.offerEvent.count({ where: { offerId, kind: 'impression' } });
  const scaStarted = await stack.prisma.offerEvent.count({ where: { offerId, kind: 'sca_started' } });
  const buyerDeclines = await stack.prisma.buyerDecline.count({ where: { offerId } });
  const gross = payments.reduce((s, p) => s + p.amount, 0);
  const refunded = refunds.reduce((s, r) => s + r.amount, 0);
  const abandoned = accepts.filter((a) => a.status === 'expired').length;
  return {
    impressions: String(impressions),
    accepts: String(succeeded.length),
    conversion_rate: `${((succeeded.length / impressions) * 100).toFixed(1)}%`,
    buyer_declines: String(buyerDeclines),
    payment_declines: String(accepts.filter((a) => a.status === 'declined').length),
    sca_abandoned: `${abandoned} of ${scaStarted} (${((abandoned / scaStarted) * 100).toFixed(1)}%)`,
    gross_revenue: usd(gross),
    refunds: usd(refunded),
    net_revenue: usd(gross - refunded),
  };
}

async function offerRow(page: Page, offerId: string) {
  const row = page.locator(`#offers-table tr[data-offer-id="${offerId}"]`);
  await row.waitFor();
  const fields = ['impressions', 'accepts', 'conversion_rate', 'buyer_declines', 'payment_declines', 'sca_abandoned', 'gross_revenue', 'refunds', 'net_revenue'] as const;
  const shown: Record<string, string> = {};
  for (const f of fields) shown[f] = (await row.locator(`[data-field="${f}"]`).innerText()).trim();
  return shown;
}

it('signs in with the key in memory only, shows the figures the database holds, explains an offer, links Temporal, and refunds after a confirm step', async () => {
  const { offer, keys, parents } = await seed();
  const { page, errors } = await newTab(browser);
  await page.setViewportSize({ width: 1280, height: 900 });

  const res = await page.goto(`${stack.baseUrl}/admin`);
  expect(res!.status()).toBe(200);
  expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
  await screenshot(page, 'admin-sign-in');

  // A wrong key is refused on the page; the right one signs in (typed, submitted with Enter).
  await page.getByLabel('Shop API key').fill('not-the-key-0123456789abcdef');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect.poll(() => page.locator('#sign-in-error').innerText()).toContain('not accepted');
  await page.getByLabel('Shop API key').fill(API_KEY);
  await page.getByLabel('Shop API key').press('Enter');
  await page.locator('#console').waitFor({ state: 'visible' });

  // The figures on the page are the database's.
  expect(await offerRow(page, offer.id)).toEqual(await figuresFromDatabase(offer.id));
  // The chart is drawn by chart.js, served by the service itself.
  expect(await page.evaluate(() => typeof (window as unknown as { Chart?: unknown }).Chart)).toBe('function');
  const canvas = await page.locator('#chart').boundingBox();
  expect(canvas!.width).toBeGreaterThan(200);
  // The summary adds up every USD offer in the range, and the other browser tests share this
  // database: it holds at least this test's 3 accepts of 6 impressions.
  const summary = /In USD over the range: (\d+) accepts of (\d+) impressions/.exec(await page.locator('#chart-summary').innerText());
  expect(summary, 'chart summary').not.toBeNull();
  expect(Number(summary![1])).toBeGreaterThanOrEqual(3);
  expect(Number(summary![2])).toBeGreaterThanOrEqual(6);

  // The key is nowhere but in the script's memory.
  const storage = await page.evaluate(() => ({
    cookie: document.cookie,
    local: localStorage.length,
    session: sessionStorage.length,
    field: (document.getElementById('api-key') as HTMLInputElement).value,
  }));
  expect(storage).toEqual({ cookie: '', local: 0, session: 0, field: '' });
  expect((await browser.context.cookies()).length).toBe(0);
  expect(await page.content()).not.toContain(API_KEY);

  // Why not shown: the order that took the offer cannot take it again, as the API says.
  await page.getByLabel('Parent order id').fill(parents.paid!);
  await page.getByRole('button', { name: 'Check' }).click();
  const why = page.locator(`#why-result li[data-offer-id="${offer.id}"]`);
  await why.waitFor();
  const api = (await stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/orders/${parents.paid}/offers`, headers: auth })).json<{
    offers: Array<{ offer_id: string; eligible: boolean; reasons: Array<{ code: string }> }>;
  }>();
  const expected = api.offers.find((o) => o.offer_id === offer.id)!;
  expect(expected.reasons.map((r) => r.code)).toContain('offer_already_accepted');
  expect(await why.getAttribute('data-eligible')).toBe('false');
  expect(await why.locator('.reasons code').allInnerTexts()).toEqual(expected.reasons.map((r) => r.code));

  // Recent accepts: status as recorded, and each one's Temporal UI page.
  for (const [name, status] of [
    ['paid', 'succeeded'],
    ['declined', 'declined'],
    ['abandoned', 'expired'],
  ] as const) {
    const row = page.locator(`#accepts-table tr[data-accept-id="${keys[name]}"]`);
    expect(await row.getAttribute('data-status')).toBe((await stack.prisma.accept.findUniqueOrThrow({ where: { idempotencyKey: keys[name] } })).status);
    expect(await row.getAttribute('data-status')).toBe(status);
    expect(await row.locator('[data-field="workflow"] a').getAttribute('href')).toBe(`${ui}/namespaces/default/workflows/${encodeURIComponent(keys[name]!)}`);
  }
  expect(await page.locator(`#accepts-table tr[data-accept-id="${keys.declined}"] [data-action="refund"]`).count()).toBe(0);
  await screenshot(page, 'admin-console');

  // The refund: the button opens a confirm step; cancelling (Escape) refunds nothing.
  const target = page.locator(`#accepts-table tr[data-accept-id="${keys.toRefund}"]`);
  const payment = await stack.prisma.payment.findUniqueOrThrow({ where: { idempotencyKey: keys.toRefund } });
  const ledger = () => stack.prisma.sandboxRefund.findMany({ where: { chargeId: payment.gatewayRef } });
  await target.getByRole('button', { name: `Refund accept ${keys.toRefund}` }).click();
  await page.locator('#refund-dialog[open]').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#refund-dialog[open]').waitFor({ state: 'detached' });
  expect(await ledger()).toHaveLength(0);

  await target.getByRole('button', { name: `Refund accept ${keys.toRefund}` }).click();
  const dialog = page.getByRole('dialog', { name: 'Refund this upsell?' });
  await dialog.waitFor();
  expect(await page.getByLabel(/Amount to refund/).inputValue()).toBe('15.00');
  await screenshot(page, 'admin-refund-confirm');
  await dialog.getByRole('button', { name: 'Refund $15.00' }).click();
  await page.locator('#refund-dialog[open]').waitFor({ state: 'detached', timeout: 30_000 });
  await expect.poll(() => target.locator('[data-field="refunded"]').innerText(), { timeout: 15_000 }).toBe('$15.00');

  // Refunded once at the gateway, recorded on the payment and the refund row, under a key the page made.
  expect((await ledger()).map((r) => r.amount)).toEqual([1500]);
  const rows = await stack.prisma.refund.findMany({ where: { acceptId: keys.toRefund } });
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ amount: 1500, currency: 'USD', status: 'succeeded', paymentId: payment.id });
  expect(rows[0]!.idempotencyKey).toMatch(/^console-[0-9a-f-]{36}$/);
  expect(await stack.prisma.payment.findUniqueOrThrow({ where: { id: payment.id } })).toMatchObject({ refundedAmount: 1500, status: 'refunded' });
  expect(await target.locator('[data-action="refund"]').count()).toBe(0);

  // The offers table follows: refunds and net revenue as the database has them now.
  await expect.poll(async () => (await offerRow(page, offer.id)).refunds).toBe(usd(2000));
  expect(await offerRow(page, offer.id)).toEqual(await figuresFromDatabase(offer.id));
  expect(await page.evaluate(() => ({ cookie: document.cookie, local: localStorage.length, session: sessionStorage.length }))).toEqual({ cookie: '', local: 0, session: 0 });
  await page.locator('#toast.show').waitFor();
  await screenshot(page, 'admin-refunded');
  expect(errors).toEqual([]);

  // The accept's link opens its workflow in the Temporal Web UI.
  const href = (await target.locator('[data-field="workflow"] a').getAttribute('href'))!;
  const tab = await browser.context.newPage();
  await tab.goto(href);
  await tab.getByRole('heading', { name: keys.toRefund }).waitFor({ timeout: 30_000 });
  await tab.getByText('acceptUpsell').first().waitFor();
  await screenshot(tab, 'admin-temporal-ui');
  await tab.close();
  await page.close();
});

it('serves its assets with ETags and answers a revalidation with 304', async () => {
  const html = await (await fetch(`${stack.baseUrl}/admin`)).text();
  const scripts = [...html.matchAll(/(?:src|href)="(\/admin\/assets\/[^"]+)"/g)].map((m) => m[1]!.replace(/&#38;/g, '&'));
  expect(scripts.map((s) => s.split('?')[0])).toEqual(['/admin/assets/admin.css', '/admin/assets/chart.umd.min.js', '/admin/assets/admin.js']);
  for (const path of scripts) {
    const first = await fetch(`${stack.baseUrl}${path}`);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect((await fetch(`${stack.baseUrl}${path}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
  }
  expect((await fetch(`${stack.baseUrl}/admin/assets/other.js`)).status).toBe(400);
});
