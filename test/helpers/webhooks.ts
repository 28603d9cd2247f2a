/** Gateway webhooks as each gateway sends them: its route, its signature header (no vitest import). */
import type { FastifyInstance } from 'fastify';
import { PAYSTACK_SIGNATURE_HEADER } from '../../gateways/paystack.ts';
import { SANDBOX_SIGNATURE_HEADER, signSandboxWebhook } from '../../gateways/sandbox.ts';
import { STRIPE_SIGNATURE_HEADER } from '../../gateways/stripe.ts';

export type WebhookGateway = 'sandbox' | 'stripe' | 'paystack';

const SIGNATURE_HEADERS: Record<WebhookGateway, string> = {
  sandbox: SANDBOX_SIGNATURE_HEADER,
  stripe: STRIPE_SIGNATURE_HEADER,
  paystack: PAYSTACK_SIGNATURE_HEADER,
};

/**
 * The path and headers of one webhook delivery. `gateway` may name one the service does not have
 * (the route must answer 404); such a request carries the sandbox's header. No signature, no header.
 */
export function webhookRequest(gateway: string, signature?: string): { path: string; headers: Record<string, string> } {
  const header = SIGNATURE_HEADERS[gateway as WebhookGateway] ?? SANDBOX_SIGNATURE_HEADER;
  return {
    path: `/wp-json/ocart/v1/webhooks/${gateway}`,
    headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { [header]: signature }) },
  };
}

/** Posts a raw webhook body to the app, with the gateway's signature header when a signature is given. */
export function postWebhook(app: FastifyInstance, gateway: WebhookGateway, payload: string, signature?: string) {
  const { path, headers } = webhookRequest(gateway, signature);
  return app.inject({ method: 'POST', url: path, headers, payload });
}

/** Posts a sandbox event signed with `secret`, as the sandbox gateway does. */
export function postSandboxEvent(app: FastifyInstance, event: object, secret: string) {
  const payload = JSON.stringify(event);
  return postWebhook(app, 'sandbox', payload, signSandboxWebhook(payload, secret));
}
