/**
 * The demo funnel in real headless Chromium: the drop-in script shows each next step in place (from
 * the answer's `next`), its "No thanks" button, and "You're all set" at the end, against the API on a
 * real port and the real stack (Temporal dev server, PostgreSQL, sandbox gateway). Each walk checks
 * what the shop would: the sandbox gateway's ledger, the orders written, and the one window_closed event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { sandboxCharges } from '../helpers/assertions.ts';
import type { TestStack } from '../helpers/stack.ts';
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

const ACCEPT_URL = /\/wp-json\/ocart\/v1\/upsells\/([^/]+)\/accept$/;
const DECLINE_URL = /\/wp-json\/ocart\/v1\/upsells\/([^/]+)\/decline$/;
const IMPRESSION_URL = /\/wp-json\/ocart\/v1\/upsells\/([^/]+)\/impressions$/;

type Outcome = 'success' | 'sca' | 'decline';

/** Opens /demo in a fresh tab and remembers what the page sent: accepts and declines (with their keys) and impressions. */
async function openFunnel(outcome: Outcome) {
  const tab = await newTab(browser);
  const sent = {
    accepts: [] as Array<{ offer: string; key: string }>,
    declines: [] as Array<{ offer: string; key: string }>,
    impressions: [] as Array<{ offer: string; cart: string }>,
  };
  tab.page.on('request', (r) => {
    if (r.method() !== 'POST') return;
    const url = r.url();
    const key = r.headers()['x-idempotency-key'] ?? '';
    let m = ACCEPT_URL.exec(url);
    if (m) sent.accepts.push({ offer: m[1]!, key });
    m = DECLINE_URL.exec(url);
    if (m) sent.declines.push({ offer: m[1]!, key });
    m = IMPRESSION_URL.exec(url);
    if (m) sent.impressions.push({ offer: m[1]!, cart: (JSON.parse(r.postData() ?? '{}') as { cart_id?: string }).cart_id ?? '' });
  });
  await tab.page.goto(`${base}/demo`);
  await tab.page.waitForSelector(`#funnel-${outcome}[data-ocart-state="idle"]`);
  const parent = await tab.page.locator(`[data-demo-funnel="${outcome}"]`).getAttribute('data-parent-order');
  expect(parent).toMatch(new RegExp(`^demo-funnel-${outcome}-[0-9a-f]{10}$`));
  // Impressions of this funnel's container only (the page has the other demo offers too).
  const impressions = () => sent.impressions.filter((i) => i.cart === `demo-funnel-${outcome}`).map((i) => i.offer);
  return { ...tab, sent, impressions, parent: parent! };
}

const box = (page: Page, outcome: Outcome) => page.locator(`#funnel-${outcome}`);

/** Waits until the container shows this step, ready for a click. */
async function waitForStep(page: Page, outcome: Outcome, step: string) {
  await page.waitForSelector(`#funnel-${outcome}[data-step-id="${step}"][data-ocart-state="idle"]`, { timeout: 30_000 });
}

async function waitForDone(page: Page, outcome: Outcome) {
  await page.waitForSelector(`#funnel-${outcome}[data-ocart-state="done"]`, { timeout: 30_000 });
  await expect.poll(() => box(page, outcome).locator('[data-ocart-status]').textContent()).toContain('You\u2019re all set.');
  expect(await box(page, outcome).locator('[data-ocart-accept], [data-ocart-decline]').count()).toBe(0);
}

/** The focused element is the offer now on screen (its name), so keyboard and screen-reader users land on it. */
async function expectFocusOnOffer(page: Page, name: string) {
  await expect.poll(() => page.evaluate(() => (document.activeElement?.hasAttribute('data-ocart-name') ? document.activeElement.textContent : null))).toBe(name);
}

async function chargesOf(key: string) {
  return (await sandboxCharges(stack.prisma, key)).map((c) => [c.status, c.amount, c.currency]);
}

async function childrenOf(parent: string) {
  const orders = await stack.prisma.order.findMany({ where: { parent: { externalId: parent } }, include: { lineItems: true } });
  return orders.map((o) => o.lineItems.map((li) => [li.name, li.unitAmount, li.acceptKey]).flat());
}

interface WindowClosed {
  data: { reason: string; accepted: Array<{ accept_id: string }>; declined: Array<{ decline_id: string; offer_id: string }> };
}

/** The parent's window_closed events through the outbox: waits for the first, then there must be exactly one. */
async function windowClosed(parent: string): Promise<WindowClosed> {
  const where = { type: 'ocart/upsell/window_closed', acceptKey: `window:${parent}` };
  await expect.poll(() => stack.prisma.outboxEvent.count({ where }), { timeout: 30_000, interval: 250 }).toBeGreaterThan(0);
  const events = await stack.prisma.outboxEvent.findMany({ where });
  expect(events).toHaveLength(1);
  return events[0]!.payload as unknown as WindowClosed;
}

describe('the demo funnel in Chromium', () => {
  it('yes -> yes: gaiters, then the bottle in place, then all set; two charges, two orders, one window_closed', async () => {
    const { page, errors, sent, impressions, parent } = await openFunnel('success');
    const status = box(page, 'success').locator('[data-ocart-status]');
    expect(await status.getAttribute('aria-live')).toBe('polite');
    expect(await box(page, 'success').getByRole('button', { name: 'No thanks' }).count()).toBe(1);
    expect(await box(page, 'success').locator('[data-ocart-name]').textContent()).toBe('Trail gaiters');

    await box(page, 'success').getByRole('button', { name: 'Yes, add it for $25.00' }).click();
    await waitForStep(page, 'success', 'bottle');
    await expect.poll(() => status.textContent()).toMatch(/Added to your order\. \$25\.00 was charged .* Next: Insulated bottle, \$12\.00\./);
    expect(await box(page, 'success').locator('[data-ocart-price]').textContent()).toBe('$12.00');
    await expectFocusOnOffer(page, 'Insulated bottle');
    await screenshot(page, 'funnel-yes-yes-step2');

    await box(page, 'success').getByRole('button', { name: 'Yes, add it for $12.00' }).click();
    await waitForDone(page, 'success');

    expect(sent.accepts.map((a) => a.offer)).toEqual(['demo-funnel-gaiters', 'demo-funnel-bottle']);
    expect(sent.declines).toEqual([]);
    // One impression per step on screen.
    await expect.poll(impressions).toEqual(['demo-funnel-gaiters', 'demo-funnel-bottle']);
    const [first, second] = sent.accepts.map((a) => a.key) as [string, string];
    expect(first).not.toBe(second);
    expect(await chargesOf(first)).toEqual([['succeeded', 2500, 'USD']]);
    expect(await chargesOf(second)).toEqual([['succeeded', 1200, 'USD']]);
    expect((await childrenOf(parent)).sort()).toEqual(
      [
        ['Trail gaiters', 2500, first],
        ['Insulated bottle', 1200, second],
      ].sort(),
    );
    const event = await windowClosed(parent);
    expect(event.data.reason).toBe('funnel_ended');
    expect(event.data.accepted.map((a) => a.accept_id).sort()).toEqual([first, second].sort());
    expect(event.data.declined).toEqual([]);
    expect(errors).toEqual([]);
    await screenshot(page, 'funnel-yes-yes');
    await page.close();
  });

  it('no -> downsell yes: "No thanks" brings the socks in place; one charge, one order, the decline in window_closed', async () => {
    const { page, errors, sent, impressions, parent } = await openFunnel('success');
    await box(page, 'success').getByRole('button', { name: 'No thanks' }).click();
    await waitForStep(page, 'success', 'socks');
    await expect.poll(() => box(page, 'success').locator('[data-ocart-status]').textContent()).toMatch(/No problem\. .*Next: Lightweight trail socks, \$9\.00\./);
    await expectFocusOnOffer(page, 'Lightweight trail socks');
    await screenshot(page, 'funnel-no-downsell-step2');

    await box(page, 'success').getByRole('button', { name: 'Yes, add it for $9.00' }).click();
    await waitForDone(page, 'success');

    expect(sent.declines.map((d) => d.offer)).toEqual(['demo-funnel-gaiters']);
    expect(sent.accepts.map((a) => a.offer)).toEqual(['demo-funnel-socks']);
    await expect.poll(impressions).toEqual(['demo-funnel-gaiters', 'demo-funnel-socks']);
    const key = sent.accepts[0]!.key;
    expect(await chargesOf(key)).toEqual([['succeeded', 900, 'USD']]);
    // The "no" charged nothing.
    expect(await chargesOf(sent.declines[0]!.key)).toEqual([]);
    expect(await childrenOf(parent)).toEqual([['Lightweight trail socks', 900, key]]);
    const event = await windowClosed(parent);
    expect(event.data.reason).toBe('funnel_ended');
    expect(event.data.accepted.map((a) => a.accept_id)).toEqual([key]);
    expect(event.data.declined.map((d) => [d.decline_id, d.offer_id])).toEqual([[sent.declines[0]!.key, 'demo-funnel-gaiters']]);
    expect(errors).toEqual([]);
    await screenshot(page, 'funnel-no-downsell-yes');
    await page.close();
  });

  it('declined card -> downsell: the 402 answer brings the socks; "No thanks" ends it; nothing charged, no order', async () => {
    const { page, errors, sent, impressions, parent } = await openFunnel('decline');
    await box(page, 'decline').getByRole('button', { name: 'Yes, add it for $25.00' }).click();
    await waitForStep(page, 'decline', 'socks');
    await expect
      .poll(() => box(page, 'decline').locator('[data-ocart-status]').textContent())
      .toMatch(/Payment declined\. .*You have not been charged.*Next: Lightweight trail socks, \$9\.00\./);
    await screenshot(page, 'funnel-declined-card-step2');

    await box(page, 'decline').getByRole('button', { name: 'No thanks' }).click();
    await waitForDone(page, 'decline');

    expect(sent.accepts.map((a) => a.offer)).toEqual(['demo-funnel-gaiters']);
    expect(sent.declines.map((d) => d.offer)).toEqual(['demo-funnel-socks']);
    await expect.poll(impressions).toEqual(['demo-funnel-gaiters', 'demo-funnel-socks']);
    const charges = await chargesOf(sent.accepts[0]!.key);
    expect(charges.filter(([s]) => s === 'succeeded')).toEqual([]);
    expect(await childrenOf(parent)).toEqual([]);
    expect(await stack.prisma.payment.count({ where: { idempotencyKey: sent.accepts[0]!.key, status: 'succeeded' } })).toBe(0);
    const event = await windowClosed(parent);
    expect(event.data.reason).toBe('funnel_ended');
    expect(event.data.accepted).toEqual([]);
    expect(event.data.declined.map((d) => d.offer_id)).toEqual(['demo-funnel-socks']);
    expect(errors).toEqual([]);
    await screenshot(page, 'funnel-declined-card');
    await page.close();
  });

  it('SCA on step 2: no to the gaiters, yes to the socks, the sandbox bank, back to the page at that step, all set', async () => {
    const { page, errors, sent, parent } = await openFunnel('sca');
    await box(page, 'sca').getByRole('button', { name: 'No thanks' }).click();
    await waitForStep(page, 'sca', 'socks');
    await box(page, 'sca').getByRole('button', { name: 'Yes, add it for $9.00' }).click();
    await page.waitForURL(/\/sandbox\/authenticate\/sbx_[^?]+\?return_url=%2Fdemo$/);
    expect(await page.locator('.amount').textContent()).toBe('$9.00');
    await screenshot(page, 'funnel-sca-bank-page');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${base}/demo`);
    // The page is served again (on a new parent of its own), but this tab is at step 2 of its funnel.
    await waitForDone(page, 'sca');
    expect(await box(page, 'sca').getAttribute('data-step-id')).toBe('socks');
    await expect.poll(() => box(page, 'sca').locator('[data-ocart-status]').textContent()).toMatch(/Added to your order\. \$9\.00 was charged/);

    expect(sent.declines.map((d) => d.offer)).toEqual(['demo-funnel-gaiters']);
    expect(sent.accepts.map((a) => a.offer)).toEqual(['demo-funnel-socks']);
    const key = sent.accepts[0]!.key;
    expect(await chargesOf(key)).toEqual([['succeeded', 900, 'USD']]);
    expect(await childrenOf(parent)).toEqual([['Lightweight trail socks', 900, key]]);
    const event = await windowClosed(parent);
    expect(event.data.reason).toBe('funnel_ended');
    expect(event.data.accepted.map((a) => a.accept_id)).toEqual([key]);
    expect(event.data.declined.map((d) => d.offer_id)).toEqual(['demo-funnel-gaiters']);
    expect(errors).toEqual([]);
    await screenshot(page, 'funnel-sca-step2');
    await page.close();
  });
});
