/**
 * The demo thank-you page (GET /demo), served only on embedded defaults (sandbox gateway, development).
 * It shows the seeded paid parent orders (scripts/lib/demo-seed.ts) and one offer under each, wired
 * with the drop-in script exactly as a shop would, with one-click tokens minted fresh on every load.
 * GET /demo/orders/:external_id reads an order of the demo cart back for the page (the shop API
 * needs the bearer key, which a browser must never hold).
 */
import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { loadSettings } from '../../db/settings-store.ts';
import { DomainError } from '../../domain/errors.ts';
import { signToken } from '../../domain/token.ts';
import type { AppDeps } from '../app.ts';
import { serializeOrder } from '../serializers.ts';
import { UPSELLS_JS_PATH, loadPublicAsset, notModified } from '../public-assets.ts';
import { DEMO_FUNNEL_CARDS, DEMO_SCENARIOS, type DemoFunnelCard, renderDemoFunnel, renderDemoPage, renderDemoScenario } from '../views/demo-page.ts';

/** The cart every demo order belongs to (scripts/lib/demo-seed.ts). */
export const DEMO_CART_ID = 'demo-cart';
/** The demo funnel's parents each belong to the cart of their card: `demo-funnel-<outcome>`. */
const DEMO_FUNNEL_CART_PREFIX = 'demo-funnel-';
/** Seeded by scripts/lib/demo-seed.ts. */
const DEMO_FUNNEL_ID = 'demo-funnel';

const ORDER_INCLUDE = { lineItems: { orderBy: { createdAt: 'asc' } }, payments: true, children: true, savedPaymentMethod: true } as const;

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
      if (!order || (order.cartId !== DEMO_CART_ID && !order.cartId.startsWith(DEMO_FUNNEL_CART_PREFIX))) throw new DomainError('order_not_found', 'no such demo order');
      const parent = order.parentId ? await prisma.order.findUnique({ where: { id: order.parentId }, select: { externalId: true } }) : null;
      reply.header('cache-control', 'no-store');
      return { ...serializeOrder(order), parent_external_id: parent?.externalId ?? null };
    },
  );

  /**
   * A funnel ends its parent's window for good, so every page view walks it on a paid parent order of
   * its own, written and minted through the shop API exactly as a shop backend would (the bearer key
   * stays on the server). Null when the demo funnel is not seeded.
   */
  async function funnelSection(card: DemoFunnelCard): Promise<string | null> {
    const auth = { authorization: `Bearer ${config.apiKey}`, 'content-type': 'application/json' };
    const cartId = `${DEMO_FUNNEL_CART_PREFIX}${card.outcome}`;
    const parent = `demo-funnel-${card.outcome}-${randomBytes(5).toString('hex')}`;
    const put = await app.inject({
      method: 'PUT',
      url: `/wp-json/ocart/v1/orders/${parent}`,
      headers: auth,
      payload: {
        cart_id: cartId,
        status: 'paid',
        currency: 'USD',
        total: 8900,
        paid_at: clock().toISOString(),
        customer: { email: 'buyer@example.com' },
        payment: { gateway: 'sandbox', customer_ref: 'cus_demo', method_ref: card.card },
        line_items: [{ product_id: 'prod_boots', name: 'Trail boots', quantity: 1, unit_amount: 8900 }],
      },
    });
    if (put.statusCode >= 300) return null;
    const minted = await app.inject({
      method: 'POST',
      url: `/wp-json/ocart/v1/funnels/${DEMO_FUNNEL_ID}/tokens`,
      headers: auth,
      payload: { order_id: parent, cart_id: cartId },
    });
    if (minted.statusCode !== 201) return null;
    const m = minted.json<{ token: string; offer_id: string; step_id: string; name: string; amount: { value: number; currency: string } }>();
    return renderDemoFunnel(card, parent, cartId, { token: m.token, offerId: m.offer_id, stepId: m.step_id, name: m.name, amount: m.amount });
  }

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
      sections.push(renderDemoScenario(scenario, order, offer, token));
    }
    if (await prisma.funnel.findUnique({ where: { id: DEMO_FUNNEL_ID }, select: { id: true } })) {
      for (const card of DEMO_FUNNEL_CARDS) {
        const section = await funnelSection(card);
        if (section) sections.push(section);
      }
    }
    reply.header('cache-control', 'no-store').header('referrer-policy', 'same-origin');
    return reply.type('text/html; charset=utf-8').send(renderDemoPage(sections, missing, UPSELLS_JS_PATH));
  });
};
