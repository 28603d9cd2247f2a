/**
 * The sandbox gateway's SCA step, served only on embedded defaults. "Approve" or "Fail" settles
 * the sandbox charge and sends a signed webhook to our own webhook route: the real signal path.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SANDBOX_SIGNATURE_HEADER, signSandboxWebhook } from '../../gateways/sandbox.ts';
import { DomainError } from '../../domain/errors.ts';
import type { AppDeps } from '../app.ts';
import { renderChargeAnswered, renderChargeConfirm, renderChargeNotFound } from '../views/sandbox-page.ts';

/**
 * Where the buyer goes back to: a path on this origin only. No "//host", and no backslash, space or
 * control character either, since browsers read "/\host" and "/<tab>/host" as "//host".
 */
const RELATIVE_PATH = "^/(?![/\\\\])[A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*$";

export const sandboxRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { sandbox, config, prisma }) => {
  if (!sandbox || !config.gateways.sandbox) return;
  // The bank page's form posts urlencoded; only this plugin's routes take that content type.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  const webhookSecret = config.gateways.sandbox.webhookSecret;
  const CHARGE = Type.Object({ charge_id: Type.String({ pattern: '^sbx_[A-Za-z0-9_-]{1,64}$' }) });
  const RETURN_URL = Type.String({ maxLength: 2048, pattern: RELATIVE_PATH });
  const RETURN = Type.Object({ return_url: Type.Optional(RETURN_URL) });

  app.get('/sandbox/authenticate/:charge_id', { schema: { params: CHARGE, querystring: RETURN } }, async (request, reply) => {
    const charge = await prisma.sandboxCharge.findUnique({ where: { id: request.params.charge_id } });
    const returnUrl = request.query.return_url;
    reply.header('cache-control', 'no-store').header('referrer-policy', 'same-origin');
    const html = reply.type('text/html; charset=utf-8');
    if (!charge) return html.status(404).send(renderChargeNotFound(returnUrl));
    if (charge.status !== 'requires_action') return html.send(renderChargeAnswered(charge, returnUrl));
    return html.send(renderChargeConfirm(charge, returnUrl));
  });

  app.post(
    '/sandbox/authenticate/:charge_id',
    {
      schema: {
        params: CHARGE,
        body: Type.Object({ result: Type.Union([Type.Literal('approve'), Type.Literal('fail')]), return_url: Type.Optional(RETURN_URL) }),
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
