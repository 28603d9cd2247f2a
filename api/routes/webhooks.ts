/**
 * Gateway webhooks: verify the signature over the raw body, then signal the waiting workflow.
 * The signal is a hint: the workflow asks the gateway itself. Duplicates, late and foreign
 * events are acknowledged and change nothing.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { WebhookSignatureError } from '../../activities/gateways/gateway.ts';
import { DomainError } from '../../domain/errors.ts';
import type { AppDeps } from '../app.ts';

export const webhookRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { gateways, flows }) => {
  // Signatures cover the exact bytes sent, so this scope keeps bodies raw.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.post(
    '/wp-json/ocart/v1/webhooks/:gateway',
    { schema: { params: Type.Object({ gateway: Type.String({ pattern: '^[a-z]{1,32}$' }) }) } },
    async (request, reply) => {
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
      request.log.info({ acceptKey: event.acceptKey, eventType: event.eventType, signalled }, 'gateway webhook');
      return reply.send({ received: true, handled: signalled });
    },
  );
};
