/**
 * The sandbox gateway's SCA step, served only on embedded defaults. "Approve" or "Fail" settles
 * the sandbox charge and sends a signed webhook to our own webhook route: the real signal path.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SANDBOX_SIGNATURE_HEADER, signSandboxWebhook } from '../../activities/gateways/sandbox.ts';
import { DomainError } from '../../domain/errors.ts';
import type { AppDeps } from '../app.ts';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const sandboxRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { sandbox, config }) => {
  if (!sandbox || !config.gateways.sandbox) return;
  const webhookSecret = config.gateways.sandbox.webhookSecret;
  const CHARGE = Type.Object({ charge_id: Type.String({ pattern: '^sbx_[A-Za-z0-9_-]{1,64}$' }) });
  const RETURN = Type.Object({ return_url: Type.Optional(Type.String({ maxLength: 2048, pattern: '^/[^/]' })) });

  app.get('/sandbox/authenticate/:charge_id', { schema: { params: CHARGE, querystring: RETURN } }, async (request, reply) => {
    const id = escapeHtml(request.params.charge_id);
    const back = request.query.return_url ? `<input type="hidden" name="return_url" value="${escapeHtml(request.query.return_url)}">` : '';
    return reply.type('text/html').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox bank: confirm payment</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}button{font-size:1rem;padding:.6rem 1.2rem;margin-right:.5rem}</style></head>
<body><h1>Sandbox bank</h1><p>Confirm the payment <code>${id}</code>. This page stands in for the bank's 3-D Secure step.</p>
<form method="post" action="/sandbox/authenticate/${id}">${back}
<button name="result" value="approve" type="submit">Approve</button><button name="result" value="fail" type="submit">Fail</button></form></body></html>`);
  });

  app.post(
    '/sandbox/authenticate/:charge_id',
    {
      schema: {
        params: CHARGE,
        body: Type.Object({ result: Type.Union([Type.Literal('approve'), Type.Literal('fail')]), return_url: Type.Optional(Type.String({ maxLength: 2048, pattern: '^/[^/]' })) }),
      },
    },
    async (request, reply) => {
      const chargeId = request.params.charge_id;
      const approve = request.body.result === 'approve';
      const settled = await sandbox.authenticate(chargeId, approve).catch(() => {
        throw new DomainError('not_found', 'no such sandbox charge');
      });
      const payload = JSON.stringify({
        type: approve ? 'charge.succeeded' : 'charge.failed',
        data: { charge_id: chargeId, workflow_id: settled.acceptKey, status: settled.status },
      });
      const delivered = await app.inject({
        method: 'POST',
        url: '/wp-json/ocart/v1/webhooks/sandbox',
        headers: { 'content-type': 'application/json', [SANDBOX_SIGNATURE_HEADER]: signSandboxWebhook(payload, webhookSecret) },
        payload,
      });
      if (request.body.return_url) return reply.redirect(request.body.return_url, 303);
      return reply.send({ charge_id: chargeId, status: settled.status, webhook_status: delivered.statusCode });
    },
  );
};
