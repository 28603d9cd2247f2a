/**
 * The drop-in script formats amounts (integer minor units) with the service's own ISO 4217 table,
 * written in when the script is served, in real headless Chromium: a currency the script once
 * listed wrongly (XPF, BIF, DJF: zero-decimal) reads as its price, not a hundredth of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack.ts';
import { launchChromium, newTab, type Chromium } from './browser.ts';

let stack: TestStack;
let browser: Chromium;

beforeAll(async () => {
  stack = await startTestStack({ listen: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

describe('the drop-in script in Chromium', () => {
  it('formats every currency with the digits the service charges with', async () => {
    const { page, errors } = await newTab(browser);
    await page.goto(`${stack.baseUrl}/wp-json/ocart/v1/currencies`);
    await page.addScriptTag({ url: `${stack.baseUrl}/wp-json/ocart/v1/upsells.js` });
    const shown = await page.evaluate(() => {
      const w = window as unknown as { OCartUpsells: { formatMoney(a: { value: number; currency: string }, locale: string): string } };
      return ['XPF', 'BIF', 'DJF', 'JPY', 'USD', 'KWD'].map((currency) => w.OCartUpsells.formatMoney({ value: 1500, currency }, 'en-US'));
    });
    const [xpf, bif, djf, jpy, usd, kwd] = shown;
    for (const zero of [xpf, bif, djf, jpy]) {
      expect(zero).toMatch(/1,500/);
      expect(zero).not.toMatch(/15\.00/);
    }
    expect(usd).toBe('$15.00');
    expect(kwd).toMatch(/1\.500/);
    expect(errors).toEqual([]);
  });
});
