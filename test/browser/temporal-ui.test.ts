/**
 * Ops check: an accept made on the demo page can be found in the Temporal Web UI (served by the dev
 * server from global setup) by its idempotency key, which is the workflow ID.
 */
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { TestStack } from '../helpers/stack.ts';
import { newTab, screenshot, startDemoShop, stopDemoShop, type Chromium } from './browser.ts';

let stack: TestStack;
let browser: Chromium;

beforeAll(async () => {
  ({ stack, browser } = await startDemoShop());
});
afterAll(async () => {
  await stopDemoShop({ stack, browser });
});

it('the Temporal Web UI finds the accept by its idempotency key', async () => {
  const { page } = await newTab(browser);
  await page.goto(`${stack.baseUrl}/demo`);
  await page.locator('#offer-success [data-ocart-accept]').click();
  await page.waitForSelector('#offer-success[data-ocart-state="succeeded"]', { timeout: 30_000 });
  const key = (await page.locator('#offer-success').getAttribute('data-accept-id'))!;
  const { runId } = await stack.client.workflow.getHandle(key).describe();

  const ui = inject('temporalUiUrl');
  // The list, filtered by workflow ID (= the idempotency key): exactly this accept.
  const query = `WorkflowId="${key}"`;
  await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
  const row = page.getByRole('link', { name: key });
  await row.first().waitFor({ timeout: 30_000 });
  expect(await row.count()).toBe(1);
  await screenshot(page, 'temporal-ui-list');

  // Straight to the workflow by its ID: the UI opens its latest run.
  await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(key)}`);
  await page.waitForURL(new RegExp(`/namespaces/default/workflows/${key}/${runId}/`));
  await page.getByRole('heading', { name: key }).waitFor({ timeout: 30_000 });
  await page.getByText('acceptUpsell').first().waitFor();
  await page.getByText('Completed', { exact: false }).first().waitFor();
  await screenshot(page, 'temporal-ui-workflow');
  await page.close();
});
