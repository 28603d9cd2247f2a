/**
 * The sandbox bank's 3-D Secure pages (GET /sandbox/authenticate/:charge_id): the confirm form, the
 * "already answered" page and the "not found" page. The route reads the charge; this module renders.
 */
import { displayMoney, escapeHtml } from './html.ts';

/** The parts of a sandbox charge the bank page shows. */
export interface SandboxChargeView {
  id: string;
  amount: number;
  currency: string;
  methodRef: string;
  status: string;
}

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

/** The sandbox has no charge with this id. */
export function renderChargeNotFound(returnUrl: string | null | undefined): string {
  return bankPage('Payment not found', '<p>The sandbox bank has no payment with this reference.</p>', returnUrl);
}

function chargeSummary(charge: SandboxChargeView): string {
  return `<dl class="facts">
  <dt>Amount</dt><dd class="amount">${escapeHtml(displayMoney(charge.amount, charge.currency))}</dd>
  <dt>Card</dt><dd>Sandbox test card <code>${escapeHtml(charge.methodRef)}</code></dd>
  <dt>Reference</dt><dd><code>${escapeHtml(charge.id)}</code></dd>
</dl>`;
}

/** Already answered (a reload, or the back button): say so, and offer the way back. */
export function renderChargeAnswered(charge: SandboxChargeView, returnUrl: string | null | undefined): string {
  const word = charge.status === 'succeeded' || charge.status === 'refunded' ? 'approved' : charge.status === 'canceled' ? 'canceled' : 'not approved';
  return bankPage(
    'Payment already answered',
    `<p class="done" data-sandbox-status="${escapeHtml(charge.status)}">This payment was already <strong>${word}</strong>.</p>${chargeSummary(charge)}`,
    returnUrl,
  );
}

/** The confirm form: Approve or Fail posts back to the same path, carrying the return URL along. */
export function renderChargeConfirm(charge: SandboxChargeView, returnUrl: string | null | undefined): string {
  const back = returnUrl ? `<input type="hidden" name="return_url" value="${escapeHtml(returnUrl)}">` : '';
  return bankPage(
    'Confirm your payment',
    `<p>A shop asks to charge your card. Approve it only if you made this purchase.</p>
${chargeSummary(charge)}
<form method="post" action="/sandbox/authenticate/${escapeHtml(charge.id)}">${back}
  <div class="buttons">
    <button class="approve" name="result" value="approve" type="submit">Approve</button>
    <button class="fail" name="result" value="fail" type="submit">Fail</button>
  </div>
</form>
<p class="hint">This page stands in for the bank's 3-D Secure step. <em>Approve</em> settles the charge, <em>Fail</em> fails authentication; either way the sandbox sends a signed webhook to the service, which resumes the accept.</p>`,
    null,
  );
}
