/**
 * The merchant console's HTML (GET /admin): a static shell. Everything shown after sign-in is read
 * by api/public/admin.js from the shop API with the key the merchant types in, which that script
 * keeps in a variable only (never a cookie or web storage). No inline script or style: the page is
 * served under a strict Content-Security-Policy.
 */
import { escapeHtml } from './html.ts';

export interface AdminAssets {
  css: string;
  chart: string;
  js: string;
}

/** The console's Content-Security-Policy: its own scripts, styles and API only. */
export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function renderAdminPage(assets: AdminAssets): string {
  const a = (url: string) => escapeHtml(url);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>OCart upsells console</title>
<link rel="stylesheet" href="${a(assets.css)}">
<script src="${a(assets.chart)}" defer></script>
<script src="${a(assets.js)}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <div class="brand"><span class="logo" aria-hidden="true">◆</span> OCart upsells <span class="muted">console</span></div>
  <button type="button" id="sign-out" class="btn ghost" hidden>Sign out</button>
</header>
<main id="main" tabindex="-1">
  <section id="sign-in" class="card narrow" aria-labelledby="sign-in-title">
    <h1 id="sign-in-title">Sign in</h1>
    <p class="muted">Use the shop API key (<code>OCART_API_KEY</code>). It stays in this tab's memory only: reload the page and you sign in again.</p>
    <form id="sign-in-form" novalidate>
      <label for="api-key">Shop API key</label>
      <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false" required aria-describedby="sign-in-error">
      <p id="sign-in-error" class="error" role="alert"></p>
      <button type="submit" class="btn primary">Sign in</button>
    </form>
  </section>

  <div id="console" hidden>
    <h1 class="visually-hidden">Upsells console</h1>
    <section class="card" aria-labelledby="offers-title">
      <div class="card-head">
        <h2 id="offers-title">Offers</h2>
        <div class="controls">
          <label for="range">Range</label>
          <select id="range">
            <option value="7">Last 7 days</option>
            <option value="30" selected>Last 30 days</option>
            <option value="90">Last 90 days</option>
            <option value="365">Last 365 days</option>
          </select>
          <button type="button" id="refresh" class="btn">Refresh</button>
        </div>
      </div>
      <p id="offers-status" class="muted" role="status"></p>
      <div class="table-wrap" tabindex="0" role="region" aria-labelledby="offers-title">
        <table id="offers-table">
          <thead><tr>
            <th scope="col">Offer</th><th scope="col">Step</th><th scope="col" class="num">Impressions</th><th scope="col" class="num">Accepts</th>
            <th scope="col" class="num">Conversion</th><th scope="col" class="num">Buyer declines</th><th scope="col" class="num">Payment declines</th>
            <th scope="col" class="num">SCA abandoned</th><th scope="col" class="num">Gross</th><th scope="col" class="num">Refunds</th>
            <th scope="col" class="num">Net revenue</th><th scope="col" class="num">Median answer</th>
          </tr></thead>
          <tbody></tbody>
        </table>
      </div>
    </section>

    <section class="card" aria-labelledby="chart-title">
      <div class="card-head">
        <h2 id="chart-title">Conversion and net revenue over time</h2>
        <div class="controls" id="chart-currency-wrap" hidden>
          <label for="chart-currency">Currency</label>
          <select id="chart-currency"></select>
        </div>
      </div>
      <div class="chart-box"><canvas id="chart" role="img" aria-label="Conversion and net revenue per day"></canvas></div>
      <p id="chart-summary" class="muted"></p>
    </section>

    <div class="grid">
      <section class="card" aria-labelledby="why-title">
        <h2 id="why-title">Why isn't an offer shown?</h2>
        <form id="why-form" novalidate>
          <label for="why-order">Parent order id</label>
          <div class="row">
            <input id="why-order" name="order" type="text" autocomplete="off" spellcheck="false" required placeholder="wc-1042" aria-describedby="why-hint">
            <button type="submit" class="btn primary">Check</button>
          </div>
          <p id="why-hint" class="muted small">The shop's order id, as registered with PUT /orders/{id}.</p>
        </form>
        <div id="why-result" aria-live="polite"></div>
      </section>

      <section class="card wide" aria-labelledby="accepts-title">
        <div class="card-head">
          <h2 id="accepts-title">Recent accepts</h2>
        </div>
        <p id="accepts-status" class="muted" role="status"></p>
        <div class="table-wrap" tabindex="0" role="region" aria-labelledby="accepts-title">
          <table id="accepts-table">
            <thead><tr>
              <th scope="col">When</th><th scope="col">Offer</th><th scope="col">Order</th><th scope="col">Status</th>
              <th scope="col" class="num">Amount</th><th scope="col" class="num">Refunded</th><th scope="col">Workflow</th><th scope="col"><span class="visually-hidden">Actions</span></th>
            </tr></thead>
            <tbody></tbody>
          </table>
        </div>
      </section>
    </div>
  </div>
</main>

<dialog id="refund-dialog" aria-labelledby="refund-title" aria-describedby="refund-desc">
  <form id="refund-form" method="dialog" novalidate>
    <h2 id="refund-title">Refund this upsell?</h2>
    <p id="refund-desc"></p>
    <label for="refund-amount">Amount to refund (<span id="refund-currency"></span>)</label>
    <input id="refund-amount" name="amount" type="text" inputmode="decimal" autocomplete="off" aria-describedby="refund-help refund-error">
    <p id="refund-help" class="muted small"></p>
    <p id="refund-error" class="error" role="alert"></p>
    <div class="actions">
      <button type="button" id="refund-cancel" class="btn">Cancel</button>
      <button type="submit" id="refund-confirm" class="btn danger">Refund</button>
    </div>
  </form>
</dialog>
<div id="toast" class="toast" role="status" aria-live="polite"></div>
</body>
</html>
`;
}
