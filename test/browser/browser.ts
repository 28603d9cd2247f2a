/**
 * Headless Chromium for the browser tests: Debian's /usr/bin/chromium (scripts/install-browser.sh)
 * driven by playwright-core, with the flags the toolchain notes ask for and a fresh profile per launch.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { seedDemoShop } from '../../scripts/lib/demo-seed.ts';
import { API_KEY, startTestStack, type TestStack } from '../helpers/stack.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Without the networking flags Chromium floods the closed network with refused connections. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const ARTIFACTS_DIR = fileURLToPath(new URL('../../test-artifacts/browser/', import.meta.url));

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/** One browser per test file, on a user-data dir made for it and removed after. */
export async function launchChromium(): Promise<Chromium> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'ocart-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1000, height: 800 },
    locale: 'en-US',
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A new tab (so a fresh sessionStorage) that remembers the page's uncaught errors. */
export async function newTab(browser: Chromium): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    // A 402 or 202 answer is an outcome, not a fault; Chromium still logs the non-2xx ones.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(msg.text());
  });
  return { page, errors };
}

/** Saves the page's final state under test-artifacts/browser/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The seeded /demo shop on a real port and one Chromium, for a test file's beforeAll. */
export interface DemoShop {
  stack: TestStack;
  browser: Chromium;
  /** http://127.0.0.1:<port> */
  base: string;
}

/** Every test on the demo page is the same buyer (the demo cart): the per-cart and per-IP limits are lifted. */
export async function startDemoShop(): Promise<DemoShop> {
  const stack = await startTestStack({ listen: true, env: { OCART_RATE_LIMIT_CART_PER_MIN: '100000', OCART_RATE_LIMIT_IP_PER_MIN: '100000' } });
  const base = stack.baseUrl!;
  await seedDemoShop(base, API_KEY);
  return { stack, browser: await launchChromium(), base };
}

/** For afterAll: closes what startDemoShop opened (either may be missing if it failed). */
export async function stopDemoShop(shop: Partial<DemoShop>): Promise<void> {
  await shop.browser?.close();
  await shop.stack?.stop();
}
