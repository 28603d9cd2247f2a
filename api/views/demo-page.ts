/**
 * The demo thank-you page's HTML (GET /demo): one section per seeded scenario, each with its paid
 * parent order and a one-click offer wired with the drop-in script. The route reads the rows and
 * mints the tokens; this module only renders them.
 */
import { displayMoney, escapeHtml } from './html.ts';

/** What scripts/lib/demo-seed.ts writes: one paid parent per sandbox outcome, one offer each. */
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

export type DemoScenario = (typeof DEMO_SCENARIOS)[number];

/** The parts of a seeded parent order the page shows. */
export interface DemoOrderView {
  externalId: string;
  cartId: string;
  status: string;
  currency: string;
  totalAmount: number;
  lineItems: ReadonlyArray<{ name: string; quantity: number; unitAmount: number; acceptKey: string | null }>;
  children: ReadonlyArray<unknown>;
}

/** The parts of an offer the page shows. */
export interface DemoOfferView {
  id: string;
  name: string;
  amount: number;
  currency: string;
}

/** One scenario's section: the paid order, and its offer carrying a freshly minted one-click token. */
export function renderDemoScenario(scenario: DemoScenario, order: DemoOrderView, offer: DemoOfferView, token: string): string {
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
  return `
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
      <button type="button" class="btn btn--ghost" data-ocart-decline>No thanks</button>
      <div class="offer__status" data-ocart-status></div>
    </div>
  </div>
  <div class="result" id="result-${scenario.outcome}" data-demo-result aria-live="polite" hidden></div>
</section>`;
}

/** The funnel sections: the same 3-step funnel, each on a fresh paid parent whose saved card gives this outcome. */
export const DEMO_FUNNEL_CARDS = [
  { outcome: 'success', title: 'Funnel: card that pays', card: 'pm_card_visa' },
  { outcome: 'sca', title: 'Funnel: card that asks the bank (3-D Secure)', card: 'pm_card_authenticationRequired' },
  { outcome: 'decline', title: 'Funnel: card that is declined', card: 'pm_card_chargeDeclined' },
] as const;

export type DemoFunnelCard = (typeof DEMO_FUNNEL_CARDS)[number];

/** What the funnel's entry token mint answered, for the first step on screen. */
export interface DemoFunnelStep {
  token: string;
  offerId: string;
  stepId: string;
  name: string;
  amount: { value: number; currency: string };
}

/** One funnel section: a fresh parent order and the funnel's first step; the script shows the next steps in place. */
export function renderDemoFunnel(card: DemoFunnelCard, parentExternalId: string, cartId: string, step: DemoFunnelStep): string {
  const price = displayMoney(step.amount.value, step.amount.currency);
  const id = `funnel-${card.outcome}`;
  return `
<section class="scenario" data-demo-funnel="${card.outcome}" data-parent-order="${escapeHtml(parentExternalId)}" aria-labelledby="h-${id}">
  <header class="scenario__head">
    <h2 id="h-${id}">${escapeHtml(card.title)}</h2>
    <span class="tag tag--${card.outcome}">${escapeHtml(card.card)}</span>
  </header>
  <p class="muted">A 3-step funnel on order <strong>${escapeHtml(parentExternalId)}</strong>: gaiters first; after a yes, a bottle; after a no or a declined card, cheaper socks. Each answer brings the next offer in place, until you are all set.</p>
  <div class="offer" id="${id}" data-ocart-upsell
       data-offer-id="${escapeHtml(step.offerId)}" data-token="${escapeHtml(step.token)}" data-cart-id="${escapeHtml(cartId)}" data-step-id="${escapeHtml(step.stepId)}">
    <div class="offer__art" aria-hidden="true"><span></span></div>
    <div class="offer__body">
      <p class="offer__kicker">One more thing for your trip</p>
      <h3 class="offer__title" data-ocart-name>${escapeHtml(step.name)}</h3>
      <p class="offer__text">Add it to this order for <strong data-ocart-price>${escapeHtml(price)}</strong>, charged to the card you just paid with.</p>
      <button type="button" class="btn" data-ocart-accept>Yes, add it for ${escapeHtml(price)}</button>
      <button type="button" class="btn btn--ghost" data-ocart-decline>No thanks</button>
      <div class="offer__status" data-ocart-status></div>
    </div>
  </div>
</section>`;
}

/**
 * The whole page around the rendered sections. `missing` counts the scenarios whose seed rows were
 * not found; `upsellsJsPath` is where the service serves the drop-in script.
 */
export function renderDemoPage(sections: readonly string[], missing: number, upsellsJsPath: string): string {
  const notice = missing
    ? `<p class="notice" role="alert">${missing === DEMO_SCENARIOS.length ? 'The demo shop is not seeded yet.' : 'Part of the demo shop is missing.'} Start the service with <code>bash scripts/run.sh</code>; it seeds the demo orders and offers.</p>`
    : '';
  return `<!doctype html>
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
  <p class="lead">This is a demo thank-you page. Each order below was paid with a different sandbox test card, and each has a one-click offer wired with the drop-in script <code>${upsellsJsPath}</code>. Accepting charges the card saved on that order.</p>
  ${notice}
  ${sections.join('\n')}
  <footer class="foot">
    <button type="button" class="btn btn--ghost" data-demo-reset>Start over in this tab</button>
    <span class="muted small">Tokens are minted fresh on every page load. The idempotency key of each offer lives in this tab's sessionStorage, so a reload or a second click never charges twice. API docs: <a href="/docs">/docs</a>.</span>
  </footer>
</main>
<script src="/demo/assets/demo.js" defer></script>
<script src="${upsellsJsPath}" defer></script>
</body>
</html>`;
}
