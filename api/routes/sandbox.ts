/**
 * The sandbox gateway's SCA step, served only on embedded defaults. "Approve" or "Fail" settles
 * the sandbox charge and sends a signed webhook to our own webhook route: the real signal path.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { SANDBOX_SIGNATURE_HEADER, signSandboxWebhook } from '../../gateways/sandbox.ts';
import { DomainError } from '../../domain/errors.ts';
import type { AppDeps } from '../app.ts';
import { displayMoney } from './demo.ts';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Where the buyer goes back to: a path on this origin only. No "//host", and no backslash, space or
 * control character either, since browsers read "/\host" and "/<tab>/host" as "//host".
 */
const RELATIVE_PATH = "^/(?![/\\\\])[A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*$";

/** The sandbox bank's page frame: deliberately not the shop's look, the way a real 3-D Secure page is not. */
function bankPage(heading: string, body: string, returnUrl: string | null | undefined): string {
  const back = returnUrl ? `<p><a class="back" href="${escapeHtml(returnUrl)}">Return to the shop</a></p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox Bank: ${escapeHtml(heading)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",Arial,sans-serif;background:#e9edf3;color:#14213d}
.bar{background:#14213d;color:#fff;padding:.8rem 1.2rem;display:flex;align-items:center;gap:.6rem;font-weight:700}
.bar .logo{width:1.6rem;height:1.6rem;border-radius:50%;background:conic-gradient(#fca311 0 50%,#e5e5e5 0)}
.bar .secure{margin-left:auto;font-weight:500;font-size:.85rem;opacity:.85}
main{max-width:30rem;margin:2.5rem auto;background:#fff;border-radius:14px;padding:1.6rem 1.6rem 1.2rem;box-shadow:0 10px 30px rgba(20,33,61,.12)}
h1{font-size:1.3rem;margin:0 0 .6rem}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:1rem 0;padding:.8rem 1rem;background:#f4f6fa;border-radius:10px}
.facts dt{color:#5c667a}.facts dd{margin:0;overflow-wrap:anywhere}.amount{font-weight:700;font-size:1.1rem}
code{font-size:.85em}
.buttons{display:flex;gap:.7rem;margin:1.2rem 0 .4rem}
button{flex:1;font:inherit;font-weight:600;padding:.7rem 1rem;border-radius:9px;cursor:pointer;border:1px solid transparent}
.approve{background:#1d7a46;color:#fff}.fail{background:#fff;color:#b3261e;border-color:#b3261e}
button:focus-visible,a:focus-visible{outline:3px solid #fca311;outline-offset:2px}
.hint{font-size:.82rem;color:#5c667a}.back{font-weight:600;color:#14213d}
.done{padding:.6rem .8rem;background:#fff8e6;border-radius:8px}
</style></head>
<body><div class="bar"><span class="logo" aria-hidden="true"></span>Sandbox Bank<span class="secure">Secure payment check (test mode)</span></div>
<main><h1>${escapeHtml(heading)}</h1>${body}${back}</main></body></html>`;
}

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
    if (!charge)
      return reply
        .status(404)
        .type('text/html; charset=utf-8')
        .send(bankPage('Payment not found', '<p>The sandbox bank has no payment with this reference.</p>', returnUrl));
    const id = escapeHtml(charge.id);
    const amount = escapeHtml(displayMoney(charge.amount, charge.currency));
    const summary = `<dl class="facts">
  <dt>Amount</dt><dd class="amount">${amount}</dd>
  <dt>Card</dt><dd>Sandbox test card <code>${escapeHtml(charge.methodRef)}</code></dd>
  <dt>Reference</dt><dd><code>${id}</code></dd>
</dl>`;
    if (charge.status !== 'requires_action') {
      // Already answered (a reload, or the back button): say so, and offer the way back.
      const word = charge.status === 'succeeded' || charge.status === 'refunded' ? 'approved' : charge.status === 'canceled' ? 'canceled' : 'not approved';
      return reply
        .type('text/html; charset=utf-8')
        .send(
          bankPage(
            'Payment already answered',
            `<p class="done" data-sandbox-status="${escapeHtml(charge.status)}">This payment was already <strong>${word}</strong>.</p>${summary}`,
            returnUrl,
          ),
        );
    }
    const back = returnUrl ? `<input type="hidden" name="return_url" value="${escapeHtml(returnUrl)}">` : '';
    return reply.type('text/html; charset=utf-8').send(
      bankPage(
        'Confirm your payment',
        `<p>A shop asks to charge your card. Approve it only if you made this purchase.</p>
${summary}
<form method="post" action="/sandbox/authenticate/${id}">${back}
  <div class="buttons">
    <button class="approve" name="result" value="approve" type="submit">Approve</button>
    <button class="fail" name="result" value="fail" type="submit">Fail</button>
  </div>
</form>
<p class="hint">This page stands in for the bank's 3-D Secure step. <em>Approve</em> settles the charge, <em>Fail</em> fails authentication; either way the sandbox sends a signed webhook to the service, which resumes the accept.</p>`,
        null,
      ),
    );
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
