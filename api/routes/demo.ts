/**
 * The demo thank-you page (GET /demo), served only on embedded defaults (sandbox gateway, development).
 * It shows the seeded paid parent orders (scripts/lib/demo-seed.ts) and one offer under each, wired
 * with the drop-in script exactly as a shop would, with one-click tokens minted fresh on every load.
 * GET /demo/orders/:external_id reads an order of the demo cart back for the page (the shop API
 * needs the bearer key, which a browser must never hold).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { loadSettings } from '../../db/settings-store.ts';
import { DomainError } from '../../domain/errors.ts';
import { currencyExponent } from '../../domain/money.ts';
import { signToken } from '../../domain/token.ts';
import type { AppDeps } from '../app.ts';
import { serializeOrder } from '../serializers.ts';
import { UPSELLS_JS_PATH, loadPublicAsset, notModified } from '../public-assets.ts';

/** What scripts/lib/demo-seed.ts writes: one paid parent per sandbox outcome, one offer each. */
export const DEMO_CART_ID = 'demo-cart';
export const DEMO_SCENARIOS = [
  {
    outcome: 'success',
    title: 'Pays at once',
    card: 'Visa test card (pm_card_visa)',
    explain: 'The saved card is charged off-session and the upsell order is written straight away.',
  },
  {
    outcome: 'sca',
    title: 'Asks the bank first (3-D Secure)',
    card: 'Authentication-required test card (pm_card_authenticationRequired)',
    explain: 'The bank wants the buyer: you are sent to the sandbox bank to approve or fail, then brought back here.',
  },
  {
    outcome: 'decline',
    title: 'Declined',
    card: 'Declining test card (pm_card_chargeDeclined)',
    explain: 'The card is declined: nothing is charged, and the offer is withdrawn.',
  },
] as const;

const ORDER_INCLUDE = { lineItems: { orderBy: { createdAt: 'asc' } }, payments: true, children: true, savedPaymentMethod: true } as const;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Minor units to a display string by the currency's exponent: 1500 USD -> "$15.00". */
export function displayMoney(value: number, currency: string): string {
  const exp = currencyExponent(currency);
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: exp, maximumFractionDigits: exp }).format(value / 10 ** exp);
  } catch {
    return `${(value / 10 ** exp).toFixed(exp)} ${currency}`;
  }
}

export const demoRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { prisma, config, clock }) => {
  if (!config.demoEnabled) return;
  const assets = {
    'demo.css': { asset: await loadPublicAsset('demo.css'), type: 'text/css; charset=utf-8' },
    'demo.js': { asset: await loadPublicAsset('demo.js'), type: 'text/javascript; charset=utf-8' },
  };

  app.get('/demo/assets/:name', { schema: { params: Type.Object({ name: Type.Union([Type.Literal('demo.css'), Type.Literal('demo.js')]) }) } }, async (request, reply) => {
    const { asset, type } = assets[request.params.name];
    reply.header('cache-control', 'no-cache').header('etag', asset.etag).header('x-content-type-options', 'nosniff');
    if (notModified(request.headers['if-none-match'], asset.etag)) return reply.status(304).send();
    return reply.type(type).send(asset.body);
  });

  app.get(
    '/demo/orders/:external_id',
    { schema: { params: Type.Object({ external_id: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_\\-:.]+$' }) }) } },
    async (request, reply) => {
      const order = await prisma.order.findUnique({ where: { externalId: request.params.external_id }, include: ORDER_INCLUDE });
      // Only the demo cart's orders: this route has no key, so it must not read anyone else's.
      if (!order || order.cartId !== DEMO_CART_ID) throw new DomainError('order_not_found', 'no such demo order');
      const parent = order.parentId ? await prisma.order.findUnique({ where: { id: order.parentId }, select: { externalId: true } }) : null;
      reply.header('cache-control', 'no-store');
      return { ...serializeOrder(order), parent_external_id: parent?.externalId ?? null };
    },
  );

  app.get('/demo', async (_request, reply) => {
    const settings = await loadSettings(prisma);
    const now = clock();
    const sections: string[] = [];
    let missing = 0;
    for (const scenario of DEMO_SCENARIOS) {
      const orderId = `demo-order-${scenario.outcome}`;
      const offerId = `demo-${scenario.outcome}`;
      const [order, offer] = await Promise.all([
        prisma.order.findUnique({ where: { externalId: orderId }, include: { lineItems: { orderBy: { createdAt: 'asc' } }, children: true } }),
        prisma.offer.findUnique({ where: { id: offerId } }),
      ]);
      if (!order || !offer) {
        missing++;
        continue;
      }
      // A fresh one-click token per page view, exactly what the shop backend's token route returns.
      // It carries the price this page shows: a reprice after the page was served is refused (offer_changed).
      const { token } = signToken(
        { offerId: offer.id, orderId: order.externalId, cartId: order.cartId, price: { value: offer.amount, currency: offer.currency } },
        config.tokenKeys,
        now,
        settings['upsells.one_click_token_ttl_min'],
      );
      const price = displayMoney(offer.amount, offer.currency);
      const lines = order.lineItems
        .map(
          (li) =>
            `<tr${li.acceptKey ? ' class="merged"' : ''}><td>${escapeHtml(li.name)}${li.acceptKey ? ' <span class="pill">upsell</span>' : ''}</td><td class="num">${li.quantity}</td><td class="num">${escapeHtml(displayMoney(li.unitAmount * li.quantity, order.currency))}</td></tr>`,
        )
        .join('');
      const earlier = order.children.length
        ? `<p class="muted small">${order.children.length} earlier upsell order${order.children.length === 1 ? '' : 's'} on this order (from previous demo runs).</p>`
        : '';
      sections.push(`
<section class="scenario" data-demo-scenario="${scenario.outcome}" aria-labelledby="h-${scenario.outcome}">
  <header class="scenario__head">
    <h2 id="h-${scenario.outcome}">${escapeHtml(scenario.title)}</h2>
    <span class="tag tag--${scenario.outcome}">${escapeHtml(scenario.card)}</span>
  </header>
  <p class="muted">${escapeHtml(scenario.explain)}</p>
  <div class="order">
    <div class="order__meta"><span>Order <strong>${escapeHtml(order.externalId)}</strong></span><span class="status status--${escapeHtml(order.status)}">${escapeHtml(order.status)}</span></div>
    <table class="lines"><thead><tr><th scope="col">Item</th><th scope="col" class="num">Qty</th><th scope="col" class="num">Amount</th></tr></thead>
      <tbody>${lines}</tbody>
      <tfoot><tr><th scope="row" colspan="2">Total paid</th><td class="num">${escapeHtml(displayMoney(order.totalAmount, order.currency))}</td></tr></tfoot></table>
    ${earlier}
  </div>
  <div class="offer" id="offer-${scenario.outcome}" data-ocart-upsell
       data-offer-id="${escapeHtml(offer.id)}" data-token="${escapeHtml(token)}" data-cart-id="${escapeHtml(order.cartId)}"
       data-label="Yes, add it for ${escapeHtml(price)}">
    <div class="offer__art" aria-hidden="true"><span></span></div>
    <div class="offer__body">
      <p class="offer__kicker">Wait &mdash; complete your kit</p>
      <h3 class="offer__title">${escapeHtml(offer.name)}</h3>
      <p class="offer__text">Add them to this order for <strong>${escapeHtml(price)}</strong>. One click: we charge the card you just paid with, no details to type.</p>
      <button type="button" class="btn" data-ocart-accept>Yes, add it for ${escapeHtml(price)}</button>
      <div class="offer__status" data-ocart-status></div>
    </div>
  </div>
  <div class="result" id="result-${scenario.outcome}" data-demo-result aria-live="polite" hidden></div>
</section>`);
    }
    const notice = missing
      ? `<p class="notice" role="alert">${missing === DEMO_SCENARIOS.length ? 'The demo shop is not seeded yet.' : 'Part of the demo shop is missing.'} Start the service with <code>bash scripts/run.sh</code>; it seeds the demo orders and offers.</p>`
      : '';
    reply.header('cache-control', 'no-store').header('referrer-policy', 'same-origin');
    return reply.type('text/html; charset=utf-8').send(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Thank you for your order &middot; OCart demo</title>
<link rel="stylesheet" href="/demo/assets/demo.css">
</head>
<body>
<div class="topbar"><span class="brand">Trailhead Outfitters</span><span class="badge">Sandbox demo &middot; no real money</span></div>
<main>
  <h1>Thank you &mdash; your order is confirmed</h1>
  <p class="lead">This is a demo thank-you page. Each order below was paid with a different sandbox test card, and each has a one-click offer wired with the drop-in script <code>${UPSELLS_JS_PATH}</code>. Accepting charges the card saved on that order.</p>
  ${notice}
  ${sections.join('\n')}
  <footer class="foot">
    <button type="button" class="btn btn--ghost" data-demo-reset>Start over in this tab</button>
    <span class="muted small">Tokens are minted fresh on every page load. The idempotency key of each offer lives in this tab's sessionStorage, so a reload or a second click never charges twice. API docs: <a href="/docs">/docs</a>.</span>
  </footer>
</main>
<script src="/demo/assets/demo.js" defer></script>
<script src="${UPSELLS_JS_PATH}" defer></script>
</body>
</html>`);
  });
};
