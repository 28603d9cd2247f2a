/**
 * GET /wp-json/ocart/v1/upsells/accepts?limit= (shop API): the most recent accepts, newest first,
 * with their status, what they charged and what was refunded, and (when TEMPORAL_UI_URL is set) a
 * link to each one's workflow in the Temporal Web UI. The merchant console lists these.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAX_RECENT_ACCEPTS, recentAccepts, type RecentAccept } from '../../db/recent-accepts.ts';
import { ACCEPT_STATUSES } from '../../db/statuses.ts';
import { requireApiKey } from '../auth.ts';
import type { AppDeps } from '../app.ts';
import { SHOP_SECURITY, errorResponses } from '../plugins/openapi.ts';

export const RECENT_ACCEPTS_ROUTE = '/wp-json/ocart/v1/upsells/accepts';
export const DEFAULT_RECENT_ACCEPTS = 20;

/** The accept's workflow (its ID is the accept's idempotency key) in the Temporal Web UI. */
export function temporalWorkflowUrl(uiBase: string | null, namespace: string, acceptId: string): string | null {
  return uiBase ? `${uiBase}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(acceptId)}` : null;
}

const Money = Type.Object({ value: Type.Integer({ description: 'Minor units' }), currency: Type.String() });

const RecentAccepts = Type.Object(
  {
    accepts: Type.Array(
      Type.Object({
        accept_id: Type.String({ description: 'The X-Idempotency-Key of the accept, which is also its workflow ID' }),
        offer_id: Type.String(),
        offer_name: Type.Union([Type.String(), Type.Null()], { description: 'null if the offer was deleted' }),
        status: Type.String({ description: `The accept's status: ${ACCEPT_STATUSES.join(', ')}` }),
        error_code: Type.Union([Type.String(), Type.Null()], { description: 'The refusal or decline code, when it ended in one' }),
        gateway: Type.Union([Type.String(), Type.Null()]),
        amount: Type.Union([Money, Type.Null()], { description: 'What it charged (or was to charge); null when refused before a price was fixed' }),
        refunded: Type.Union([Money, Type.Null()], { description: 'Refunded so far through the refund route; null without an amount' }),
        refundable: Type.Boolean({ description: 'It charged, and something of the charge is left to refund' }),
        parent_order_id: Type.Union([Type.String(), Type.Null()], { description: "The parent order's shop id" }),
        child_order_id: Type.Union([Type.String(), Type.Null()], { description: 'The upsell order it wrote (child strategy)' }),
        created_at: Type.String({ format: 'date-time' }),
        completed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
        temporal_ui_url: Type.Union([Type.String(), Type.Null()], { description: "The accept's workflow in the Temporal Web UI; null unless TEMPORAL_UI_URL is set" }),
      }),
      { description: 'Newest first' },
    ),
  },
  { title: 'RecentAccepts' },
);

function serialize(a: RecentAccept, uiBase: string | null, namespace: string) {
  const money = (value: number) => (a.currency === null ? null : { value, currency: a.currency });
  return {
    accept_id: a.acceptId,
    offer_id: a.offerId,
    offer_name: a.offerName,
    status: a.status,
    error_code: a.errorCode,
    gateway: a.gateway,
    amount: a.amount === null ? null : money(a.amount),
    refunded: a.amount === null ? null : money(a.refundedAmount),
    refundable: a.paid && a.amount !== null && a.refundedAmount < a.amount,
    parent_order_id: a.parentOrderExternalId,
    child_order_id: a.childOrderId,
    created_at: a.createdAt.toISOString(),
    completed_at: a.completedAt ? a.completedAt.toISOString() : null,
    temporal_ui_url: temporalWorkflowUrl(uiBase, namespace, a.acceptId),
  };
}

export const recentAcceptRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { prisma, config }) => {
  app.addHook('onRequest', requireApiKey(config.apiKey));

  app.get(
    RECENT_ACCEPTS_ROUTE,
    {
      schema: {
        tags: ['shop'],
        operationId: 'recentAccepts',
        summary: 'The most recent accepts, newest first, with status, amounts refunded and a link to each workflow',
        security: SHOP_SECURITY,
        querystring: Type.Object(
          {
            limit: Type.Optional(
              Type.String({
                pattern: '^([1-9]|[1-9][0-9]|100)$',
                description: `How many, 1 to ${MAX_RECENT_ACCEPTS}; default ${DEFAULT_RECENT_ACCEPTS} (anything else: 400 invalid_request)`,
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: RecentAccepts, ...errorResponses(400, 401, 500) },
      },
    },
    async (request, reply) => {
      const limit = request.query.limit !== undefined ? Number(request.query.limit) : DEFAULT_RECENT_ACCEPTS;
      const rows = await recentAccepts(prisma, limit);
      reply.header('cache-control', 'no-store');
      return { accepts: rows.map((a) => serialize(a, config.temporalUiUrl, config.temporal.namespace)) };
    },
  );
};
