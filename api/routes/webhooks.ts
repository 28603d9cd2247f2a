/**
 * Gateway webhooks: verify the signature over the raw body, then signal the waiting workflow.
 * The signal is a hint: the workflow asks the gateway itself. A success for an accept that is no
 * longer running starts the charge's reconciliation (refunded if it has no order); duplicates of it
 * find the same run. Other late and foreign events are acknowledged and change nothing.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WebhookSignatureError } from '../../gateways/gateway.ts';
import { DomainError } from '../../domain/errors.ts';
import type { AppDeps } from '../app.ts';
import { errorRef, errorResponses } from '../plugins/openapi.ts';

const webhookSchema = {
  tags: ['gateways'],
  operationId: 'receiveWebhook',
  summary: "A gateway's signed event (webhooks/stripe, webhooks/paystack, webhooks/sandbox)",
  description:
    "The signature is checked over the raw body with the gateway's secret. A verified event for one of our charges wakes the accept waiting for it; the workflow then asks the gateway itself. A success for an accept that has already closed starts a reconciliation of the charge (refunded if it has no order). Verified events that are not ours are acknowledged and ignored.",
  params: Type.Object({ gateway: Type.String({ pattern: '^[a-z]{1,32}$', examples: ['stripe', 'paystack', 'sandbox'] }) }),
  headers: Type.Object({
    'stripe-signature': Type.Optional(Type.String({ description: 'Stripe' })),
    'x-paystack-signature': Type.Optional(Type.String({ description: 'Paystack: HMAC-SHA512 of the raw body' })),
    'x-sandbox-signature': Type.Optional(Type.String({ description: 'The sandbox gateway: HMAC-SHA256 of the raw body' })),
  }),
  body: Type.Unknown({ description: "The gateway's event, exactly as it sent it" }),
  response: {
    200: Type.Object({
      received: Type.Literal(true),
      handled: Type.Boolean({
        description:
          'true: it woke a waiting accept, or (a success for an accept that has closed) started the reconciliation of its charge; false: verified, but nothing of ours to do',
      }),
    }),
    400: errorRef(400, 'A signature that does not verify is `signature_invalid`'),
    404: errorRef(404, 'No webhook endpoint for that gateway'),
    ...errorResponses(413, 500),
  },
};

export const webhookRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { gateways, flows }) => {
  // Signatures cover the exact bytes sent, so this scope keeps bodies raw.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post('/wp-json/ocart/v1/webhooks/:gateway', { schema: webhookSchema }, async (request, reply) => {
    const name = request.params.gateway;
    if (!gateways.has(name)) throw new DomainError('not_found', `no webhook endpoint for "${name}"`);
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let event;
    try {
      event = gateways.byName(name).parseWebhook(raw, request.headers);
    } catch (err) {
      if (err instanceof WebhookSignatureError || err instanceof SyntaxError) {
        throw new DomainError('signature_invalid', 'the webhook signature does not verify');
      }
      throw err;
    }
    if (!event) return reply.send({ received: true, handled: false });
    const signalled = await flows.signalScaCompleted(event.acceptKey, {
      gateway: name,
      chargeRef: event.chargeRef,
      eventType: event.eventType,
    });
    if (!signalled && event.succeeded) {
      // No accept is waiting for this charge (it closed, or its late-completion watch ended): a
      // success here may be money with no order behind it. Never acknowledged and forgotten: the
      // reconciliation asks the gateway and the database, and refunds a charge that has no order.
      const started = await flows.reconcileCharge({ gateway: name, chargeRef: event.chargeRef, acceptKey: event.acceptKey, eventType: event.eventType });
      request.log.warn(
        { accept_id: event.acceptKey, eventType: event.eventType, chargeRef: event.chargeRef, started },
        'success webhook for a closed accept: reconciling the charge',
      );
      return reply.send({ received: true, handled: true });
    }
    request.log.info({ accept_id: event.acceptKey, eventType: event.eventType, signalled }, 'gateway webhook');
    return reply.send({ received: true, handled: signalled });
  });
};
