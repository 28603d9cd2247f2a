// @ts-check
/*!
 * OCart one-click upsells: the drop-in storefront script.
 * Served at GET /wp-json/ocart/v1/upsells.js. Plain ES2020, no dependencies, no build step.
 *
 * Markup (one container per offer; the script finds them on load):
 *   <div data-ocart-upsell
 *        data-offer-id="off_123"            required: the offer
 *        data-token="<one-click token>"     required: minted by the shop backend for this page view
 *        data-cart-id="cart_abc"            required: the buyer's cart/session id
 *        data-api-base="https://api.shop"   optional: defaults to the origin this script came from
 *        data-label="Add to my order"       optional: label of the button the script creates
 *        data-return-url="/thank-you?o=1"   optional: where a redirect confirmation (3-D Secure on the
 *                                           bank's page) returns the buyer; on an allowed origin
 *        data-stripe-publishable-key="pk_…" optional: with Stripe.js on the page, SCA runs in its modal
 *        data-locale="en-US">               optional: money formatting (defaults to <html lang>)
 *     <button type="button" data-ocart-accept>Yes, add it</button>   optional: your own button
 *     <button type="button" data-ocart-decline>No thanks</button>    optional: your own "no" button
 *     <span data-ocart-name>Socks</span> <span data-ocart-price>…</span>  optional: filled in per funnel step
 *     <div data-ocart-status></div>                                  optional: your own live region
 *   </div>
 *
 * One click is one charge: each offer gets one idempotency key (crypto.randomUUID), kept in
 * sessionStorage, and every retry, double click, reload or return from the bank reuses it.
 * The container reports its state in data-ocart-state and fires a bubbling `ocart:upsell`
 * CustomEvent ({ state, acceptId, offerId, response }) on every change.
 *
 * Funnels: a yes, a "No thanks" (POST …/decline, its own idempotency key) or a declined card answers
 * `next`, the funnel's next step with a fresh token. The script shows it in place (name, price,
 * buttons, focus) and reports its impression; `next: null` ends the funnel with "You're all set"
 * (data-ocart-state="done"). The step reached is kept in sessionStorage, so a reload or a return
 * from the bank shows the same step.
 */
(function () {
  'use strict';

  if (window.OCartUpsells && window.OCartUpsells.version) return; // loaded twice: keep the first

  var VERSION = '1.0.0';
  var STORE_PREFIX = 'ocart.upsell.v1:';
  var PATH = '/wp-json/ocart/v1/upsells/';
  /** @type {Record<string, 1>} */
  var FINAL = { succeeded: 1, declined: 1, rejected: 1, expired: 1, declined_by_buyer: 1 };
  /** Answers after which a funnel goes on to its `next` step (or ends). */
  /** @type {Record<string, 1>} */
  var STEP_ENDS = { succeeded: 1, declined: 1, declined_by_buyer: 1 };
  // Answers that mean "not now" rather than "no": the status URL is polled again after Retry-After.
  /** @type {Record<number, 1>} */
  var TRY_LATER = { 429: 1, 503: 1 };
  /** What the buyer is told when a call never reached the shop. */
  var NETWORK_ERROR = { status: 'error', code: 'network_error', message: 'We could not reach the shop.' };

  var currentScript = document.currentScript;
  var scriptOrigin = '';
  try {
    if (currentScript instanceof HTMLScriptElement && currentScript.src) scriptOrigin = new URL(currentScript.src, location.href).origin;
  } catch {
    scriptOrigin = '';
  }

  // ---- storage: sessionStorage, or memory when the browser refuses it ----------------------------
  /** @type {Record<string, any>} */
  var memory = {};
  var store = {
    /** @param {string} k @returns {any} an OCartEntry, or for a funnel's progress key an OCartNext */
    get: function (k) {
      try {
        var raw = window.sessionStorage.getItem(k);
        return raw ? JSON.parse(raw) : null;
      } catch {
        return memory[k] || null;
      }
    },
    /** @param {string} k @param {OCartEntry | OCartNext | null} v */
    set: function (k, v) {
      memory[k] = v;
      try {
        window.sessionStorage.setItem(k, JSON.stringify(v));
      } catch {
        /* private mode or full: memory keeps this page view consistent */
      }
    },
  };

  function newIdempotencyKey() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === 'function') return c.randomUUID();
    // randomUUID needs a secure context; getRandomValues does not.
    var b = c.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map
      .call(b, function (/** @type {number} */ x) {
        return (x + 0x100).toString(16).slice(1);
      })
      .join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  // ---- money: integer minor units, formatted by the currency's ISO 4217 exponent ------------------
  // The service's own table (domain/money.ts, from the maintained ISO 4217 list), written in here
  // when the script is served, so the page and the service never disagree about a currency.
  /** @type {Record<string, number>} */
  var CURRENCY_DIGITS = /*OCART_CURRENCY_DIGITS*/ {};

  /** @param {string} currency */
  function exponent(currency) {
    var code = String(currency || '').toUpperCase();
    return Object.prototype.hasOwnProperty.call(CURRENCY_DIGITS, code) ? CURRENCY_DIGITS[code] : 2;
  }

  /** @param {OCartMoney | null | undefined} amount @param {string} [locale] */
  function formatMoney(amount, locale) {
    if (!amount || typeof amount.value !== 'number') return '';
    var currency = String(amount.currency || '').toUpperCase();
    var exp = exponent(currency);
    var negative = amount.value < 0;
    var digits = String(Math.abs(Math.round(amount.value)));
    while (digits.length <= exp) digits = '0' + digits;
    var major = exp === 0 ? digits : digits.slice(0, digits.length - exp) + '.' + digits.slice(digits.length - exp);
    try {
      return new Intl.NumberFormat(locale || undefined, {
        style: 'currency',
        currency: currency,
        minimumFractionDigits: exp,
        maximumFractionDigits: exp,
      }).format(Number((negative ? '-' : '') + major));
    } catch {
      return (negative ? '-' : '') + major + ' ' + currency;
    }
  }

  // ---- messages ---------------------------------------------------------------------------------
  /** @type {Record<string, string>} */
  var REJECTED_TEXT = {
    token_expired: 'This offer has expired.',
    token_replayed: 'This offer has already been used.',
    offer_inactive: 'This offer is no longer available.',
    offer_ineligible: 'This offer is not available for your order.',
    offer_not_found: 'This offer is no longer available.',
    parent_not_paid: 'This offer needs a paid order.',
    payment_method_unusable: 'Your saved payment method cannot be used for this offer.',
    currency_mismatch: 'This offer is not available in your order\u2019s currency.',
    offer_changed: 'This offer has changed.',
    offer_already_accepted: 'You already added this to your order.',
  };

  /** Refusals a fresh page can cure: the shop mints a new token (at the new price) on reload. */
  /** @type {Record<string, 1>} */
  var RELOADABLE = { offer_changed: 1 };

  /** @type {Record<string, string>} */
  var DECLINE_TEXT = {
    authentication_failed: 'Your bank did not confirm the payment.',
  };

  /** @param {number} ms @returns {Promise<void>} */
  function sleep(ms) {
    return new Promise(function (r) {
      setTimeout(r, ms);
    });
  }

  /**
   * @param {string} tag @param {Record<string, string> | null} [attrs] @param {string} [text]
   * @returns {HTMLElement & { disabled?: boolean }} a button's `disabled` is typed on the element it makes
   */
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs)
      Object.keys(attrs).forEach(function (k) {
        node.setAttribute(k, attrs[k]);
      });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Shows or hides a node; the inline style wins over a theme's `display` rule, which `hidden` alone does not. */
  /** @param {HTMLElement | null} node @param {boolean} visible */
  function show(node, visible) {
    if (!node) return;
    node.hidden = !visible;
    node.style.display = visible ? '' : 'none';
  }

  function defaultReturnUrl() {
    var path = location.pathname + location.search;
    // The sandbox accepts relative paths only, and not "/" alone.
    return /^\/[^/]/.test(path) ? path : '/?';
  }

  // ---- one offer --------------------------------------------------------------------------------
  /**
   * @constructor
   * @param {HTMLElement} root
   * @param {OCartMountOptions} [options]
   */
  function Upsell(root, options) {
    var d = root.dataset;
    this.root = root;
    this.options = options || {};
    this.cfg = {
      offerId: d.offerId || '',
      token: d.token || '',
      cartId: d.cartId || '',
      apiBase: (d.apiBase !== undefined ? d.apiBase : scriptOrigin).replace(/\/+$/, ''),
      label: d.label || 'Yes, add it to my order',
      returnUrl: d.returnUrl || '',
      stripeKey: d.stripePublishableKey || '',
      locale: d.locale || document.documentElement.lang || undefined,
      pollTimeoutMs: Number(d.pollTimeoutMs) > 0 ? Number(d.pollTimeoutMs) : 40 * 60 * 1000,
    };
    this.storeKey = STORE_PREFIX + this.cfg.cartId + ':' + this.cfg.offerId;
    /** Where this container's funnel step is kept: named after the offer it was first served with. */
    this.progressKey = this.storeKey + '#step';
    this.busy = false;
    /** @type {(HTMLElement & { disabled?: boolean }) | null} the "No thanks" button */
    this.declineButton = null;
    /** @type {Node | null} the accept button as served, copied for each funnel step */
    this.buttonTemplate = null;
    /** @type {Node | null} the decline button as served */
    this.declineTemplate = null;
    /** @type {Comment | null} where the buttons go back for the next step */
    this.anchor = null;
    this.pollRun = 0;
    /** @type {(HTMLElement & { disabled?: boolean }) | null} the shop's own element, or the button made here */
    this.button = null;
    // Set by mount(): declared here for the type checker only.
    /** @type {HTMLElement} */
    this.status;
    /** @type {HTMLElement} */
    this.actions;
    /** @type {OCartEntry} */
    this.entry;
    /** @type {OCartStripe | null} */
    this.stripeInstance = null;
  }

  Upsell.prototype.mount = function () {
    var root = this.root;
    var cfg = this.cfg;
    if (!cfg.offerId || !cfg.token || !cfg.cartId) {
      console.error('[ocart] data-offer-id, data-token and data-cart-id are required on', root);
      return;
    }
    root.classList.add('ocart-upsell');

    this.button = root.querySelector('[data-ocart-accept]');
    if (!this.button) {
      this.button = el('button', { type: 'button', class: 'ocart-upsell__accept', 'data-ocart-accept': '' }, cfg.label);
      root.appendChild(this.button);
    }
    if (this.button.tagName === 'BUTTON' && !this.button.getAttribute('type')) this.button.setAttribute('type', 'button');
    this.declineButton = root.querySelector('[data-ocart-decline]');
    if (!this.declineButton) {
      this.declineButton = el('button', { type: 'button', class: 'ocart-upsell__decline', 'data-ocart-decline': '' }, 'No thanks');
      /** @type {ParentNode} */ (this.button.parentNode).insertBefore(this.declineButton, this.button.nextSibling);
    }
    if (this.declineButton.tagName === 'BUTTON' && !this.declineButton.getAttribute('type')) this.declineButton.setAttribute('type', 'button');
    this.buttonTemplate = this.button.cloneNode(true);
    this.declineTemplate = this.declineButton.cloneNode(true);
    this.anchor = document.createComment('ocart-upsell buttons');
    /** @type {ParentNode} */ (this.declineButton.parentNode).insertBefore(this.anchor, this.declineButton.nextSibling);

    // The live region exists before anything is announced, so screen readers pick up each change.
    var status = /** @type {HTMLElement | null} */ (root.querySelector('[data-ocart-status]'));
    if (!status) {
      status = el('div', { 'data-ocart-status': '' });
      root.appendChild(status);
    }
    this.status = status;
    this.status.classList.add('ocart-upsell__status');
    this.status.setAttribute('role', 'status');
    this.status.setAttribute('aria-live', 'polite');
    this.status.setAttribute('aria-atomic', 'true');

    this.actions = el('div', { class: 'ocart-upsell__actions' });
    // Inside the container or wherever the shop put it: either way it has a parent.
    /** @type {ParentNode} */ (status.parentNode).insertBefore(this.actions, status.nextSibling);

    this.wireButtons();

    // A funnel already moved on in this tab (a reload, a return from the bank): show that step.
    var step = store.get(this.progressKey);
    if (step && typeof step.offer_id === 'string' && typeof step.token === 'string') this.useStep(step);

    // One key per offer, made once and kept for this tab's session.
    var entry = store.get(this.storeKey);
    if (!entry || typeof entry.key !== 'string') {
      entry = { key: newIdempotencyKey(), token: cfg.token, phase: 'ready' };
    } else if (entry.phase === 'ready') {
      entry.token = cfg.token; // nothing was sent yet: this page view's token is the freshest
    }
    this.entry = entry;
    this.save();

    if (entry.phase === 'final' && entry.response) {
      this.render(entry.response);
    } else if (entry.phase === 'error' && entry.response) {
      this.render(entry.response);
    } else if (entry.phase === 'sent' && entry.declining) {
      // Reloaded while a "No thanks" was out: send it again (same key: the service replays it).
      this.setBusy(true);
      this.setState('busy');
      this.sendDecline(0);
    } else if (entry.phase === 'sent' || entry.phase === 'action') {
      // Back from the bank, or reloaded while a request was out: ask the server where it stands.
      this.resume();
    } else {
      this.showIfEligible();
    }
  };

  // Before the offer is shown, ask whether this buyer's order can take it (the same reasons as the
  // shop's "why not shown" check). An offer that could never be charged is never shown: the container
  // is hidden and says `data-ocart-state="unavailable"`. No answer (network, outage) shows it anyway:
  // the accept itself still refuses safely.
  Upsell.prototype.showIfEligible = async function () {
    var root = this.root;
    show(root, false);
    this.setState('checking');
    /** @type {{ eligible?: unknown, reasons?: Array<{ code: string }> } | null} */
    var body;
    try {
      var res = await fetch(this.url(PATH + encodeURIComponent(this.cfg.offerId) + '/eligibility'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: this.cfg.token, cart_id: this.cfg.cartId }),
        credentials: 'omit',
      });
      body = res.status === 200 ? await res.json() : null;
    } catch {
      body = null;
    }
    if (body && body.eligible === false) {
      this.withdraw();
      var codes = (body.reasons || []).map(function (r) {
        return r.code;
      });
      root.setAttribute('data-ocart-reasons', codes.join(' '));
      this.setState('unavailable');
      return;
    }
    show(root, true);
    this.setState('idle');
    this.reportImpression();
  };

  // The offer is on screen: tell the service, for the shop's analytics. Counted once per token on
  // the server; best effort, never in the buyer's way (no retry, no error shown).
  Upsell.prototype.reportImpression = function () {
    try {
      fetch(this.url(PATH + encodeURIComponent(this.cfg.offerId) + '/impressions'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: this.cfg.token, cart_id: this.cfg.cartId }),
        credentials: 'omit',
        keepalive: true,
      }).catch(function () {
        /* analytics only */
      });
    } catch {
      /* analytics only */
    }
  };

  Upsell.prototype.save = function () {
    this.entry.updated_at = Date.now();
    store.set(this.storeKey, this.entry);
    this.root.setAttribute('data-accept-id', this.entry.key);
  };

  /** @param {boolean} busy */
  Upsell.prototype.setBusy = function (busy) {
    this.busy = busy;
    if (busy) this.root.setAttribute('aria-busy', 'true');
    else this.root.removeAttribute('aria-busy');
    [this.button, this.declineButton].forEach(function (b) {
      if (!b) return;
      b.disabled = busy;
      if (busy) b.setAttribute('aria-disabled', 'true');
      else b.removeAttribute('aria-disabled');
    });
  };

  /** @param {string} state @param {OCartAcceptBody} [response] */
  Upsell.prototype.setState = function (state, response) {
    this.root.setAttribute('data-ocart-state', state);
    var detail = { state: state, acceptId: this.entry.key, offerId: this.cfg.offerId, response: response || null };
    this.root.dispatchEvent(new CustomEvent('ocart:upsell', { bubbles: true, detail: detail }));
  };

  /** @param {string} text @param {string} [strong] */
  Upsell.prototype.say = function (text, strong) {
    this.status.textContent = '';
    if (strong) {
      this.status.appendChild(el('strong', null, strong));
      this.status.appendChild(document.createTextNode(' '));
    }
    this.status.appendChild(document.createTextNode(text));
  };

  Upsell.prototype.clearActions = function () {
    this.actions.textContent = '';
  };

  /** The offer is gone for good: no button, nothing to click again. */
  Upsell.prototype.withdraw = function () {
    [this.button, this.declineButton].forEach(function (b) {
      if (!b) return;
      b.disabled = true;
      b.setAttribute('aria-disabled', 'true');
      show(b, false);
      if (b.parentNode) b.parentNode.removeChild(b);
    });
    this.button = null;
    this.declineButton = null;
    this.root.classList.add('ocart-upsell--withdrawn');
  };

  Upsell.prototype.wireButtons = function () {
    var self = this;
    if (this.button)
      this.button.addEventListener('click', function (event) {
        event.preventDefault();
        self.accept();
      });
    if (this.declineButton)
      this.declineButton.addEventListener('click', function (event) {
        event.preventDefault();
        self.decline();
      });
  };

  // ---- funnels: the next step in place -------------------------------------------------------------
  /** Points this container at a funnel step: its offer, token, name and price. */
  /** @param {OCartNext} step */
  Upsell.prototype.useStep = function (step) {
    var root = this.root;
    this.cfg.offerId = step.offer_id;
    this.cfg.token = step.token;
    this.storeKey = STORE_PREFIX + this.cfg.cartId + ':' + step.offer_id;
    root.setAttribute('data-offer-id', step.offer_id);
    root.setAttribute('data-step-id', step.step_id || '');
    var price = formatMoney(step.amount, this.cfg.locale);
    Array.prototype.forEach.call(root.querySelectorAll('[data-ocart-name]'), function (/** @type {Element} */ n) {
      n.textContent = step.name;
    });
    Array.prototype.forEach.call(root.querySelectorAll('[data-ocart-price]'), function (/** @type {Element} */ n) {
      n.textContent = price;
    });
    if (this.button) this.button.textContent = 'Yes, add it for ' + price;
  };

  /** The answer carried the next step: show it where this one was, with fresh buttons and key. */
  /** @param {OCartNext} step */
  Upsell.prototype.advance = function (step) {
    var anchor = this.anchor;
    var parent = anchor && anchor.parentNode;
    if (!anchor || !parent || !this.buttonTemplate || !this.declineTemplate) return;
    store.set(this.progressKey, step);
    this.root.classList.remove('ocart-upsell--withdrawn');
    this.button = /** @type {HTMLElement} */ (this.buttonTemplate.cloneNode(true));
    this.declineButton = /** @type {HTMLElement} */ (this.declineTemplate.cloneNode(true));
    parent.insertBefore(this.button, anchor);
    parent.insertBefore(this.declineButton, anchor);
    this.wireButtons();
    this.useStep(step);
    var kept = store.get(this.storeKey);
    // The same step stored with this token (shown before a reload): keep its key; otherwise a new one.
    this.entry = kept && kept.token === step.token && typeof kept.key === 'string' ? kept : { key: newIdempotencyKey(), token: step.token, phase: 'ready' };
    this.save();
    this.setBusy(false);
    this.status.appendChild(document.createTextNode(' Next: ' + step.name + ', ' + formatMoney(step.amount, this.cfg.locale) + '.'));
    this.setState('idle');
    this.reportImpression();
    this.focusOffer();
  };

  /** `next: null`: the funnel ended. Nothing more to click. */
  Upsell.prototype.finish = function () {
    this.withdraw();
    this.root.classList.add('ocart-upsell--done');
    var done = el('strong', { 'data-ocart-done': '' }, 'You\u2019re all set.');
    this.status.appendChild(document.createTextNode(' '));
    this.status.appendChild(done);
    this.setState('done');
    this.focusOffer();
  };

  /** Moves focus to the offer now on screen (its name if the page marks it, else the container). */
  Upsell.prototype.focusOffer = function () {
    var target = /** @type {HTMLElement | null} */ (this.root.querySelector('[data-ocart-name]')) || this.root;
    if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
    try {
      target.focus({ preventScroll: false });
    } catch {
      /* focus is a courtesy */
    }
  };

  // ---- "No thanks" ----------------------------------------------------------------------------------
  Upsell.prototype.decline = function () {
    if (this.busy || !this.declineButton) return; // a second click while the first is out does nothing
    var entry = this.entry;
    if (entry.phase === 'final' || entry.phase === 'action') return;
    if (!entry.declineKey) entry.declineKey = newIdempotencyKey();
    entry.declining = true;
    entry.phase = 'sent';
    this.save();
    this.setBusy(true);
    this.clearActions();
    this.say('One moment\u2026');
    this.setState('busy');
    this.sendDecline(0);
  };

  /** Sends the decline with its one key; "not now" answers (429, 503) are retried after Retry-After. */
  /** @param {number} attempt @returns {Promise<unknown>} */
  Upsell.prototype.sendDecline = async function (attempt) {
    var entry = this.entry;
    var answer = await this.post('decline', entry.declineKey || '', { token: entry.token, cart_id: this.cfg.cartId });
    if (!answer) return this.showError(NETWORK_ERROR);
    if (TRY_LATER[answer.res.status] && attempt < 5) {
      var retryAfter = Number(answer.res.headers.get('Retry-After'));
      await sleep(retryAfter > 0 ? Math.min(retryAfter, 30) * 1000 : 800 * (attempt + 1));
      return this.sendDecline(attempt + 1);
    }
    return this.settle(answer);
  };

  /**
   * POSTs a buyer's call on this offer (accept or decline) under its idempotency key.
   * @param {string} action @param {string} key @param {unknown} payload
   * @returns {Promise<{ res: Response, body: any } | null>} null when the shop could not be reached
   */
  Upsell.prototype.post = async function (action, key, payload) {
    try {
      var res = await fetch(this.url(PATH + encodeURIComponent(this.cfg.offerId) + '/' + action), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Idempotency-Key': key },
        body: JSON.stringify(payload),
        credentials: 'omit',
        cache: 'no-store',
      });
      var body = await res.json().catch(function () {
        return null;
      });
      return { res: res, body: body };
    } catch {
      return null;
    }
  };

  /** The end of a call's answer: a busy shop or an unreadable answer is said, an answer handled. */
  /** @param {{ res: Response, body: any }} answer @returns {unknown} */
  Upsell.prototype.settle = function (answer) {
    var res = answer.res;
    var body = answer.body;
    if (res.status === 429 || (body && body.code === 'rate_limited')) {
      return this.showError({ status: 'error', code: 'rate_limited', message: 'The shop is busy.' });
    }
    if (!body || typeof body.status !== 'string') {
      return this.showError({ status: 'error', code: 'http_' + res.status, message: 'The shop answered unexpectedly.' });
    }
    return this.handle(body, true);
  };

  /** @param {string} path */
  Upsell.prototype.url = function (path) {
    return this.cfg.apiBase + path;
  };

  Upsell.prototype.statusUrl = function () {
    return this.url(PATH + 'accepts/' + encodeURIComponent(this.entry.key) + '?cart_id=' + encodeURIComponent(this.cfg.cartId));
  };

  // ---- the click ----------------------------------------------------------------------------------
  Upsell.prototype.accept = function () {
    if (this.busy || !this.button) return; // a second click while the first is out does nothing
    var entry = this.entry;
    if (entry.phase === 'final') return;
    this.setBusy(true);
    this.clearActions();
    this.say('Adding this to your order\u2026');
    this.setState('busy');
    // Written down before the request leaves, so a reload mid-flight reuses the same key.
    if (entry.phase === 'ready') entry.phase = 'sent';
    this.save();
    this.send();
  };

  Upsell.prototype.send = async function () {
    var entry = this.entry;
    var answer = await this.post('accept', entry.key, this.acceptBody(entry));
    if (!answer) return this.showError(NETWORK_ERROR);
    var body = answer.body;
    if (body && body.code === 'idempotency_key_reused') {
      // This key already went out with an earlier token (a reload): its accept is the answer.
      return this.resume();
    }
    if (answer.res.status === 503 && body && body.code === 'temporarily_unavailable') {
      // Not started yet, or not known to have started: the status route says which, polled through
      // its own 503s; a click again reuses this key, so nothing can be charged twice.
      return this.resume();
    }
    return this.settle(answer);
  };

  /** One place for every answer: from the accept call, the status endpoint or storage. */
  /** @param {OCartAcceptBody} body @param {boolean} fresh @returns {unknown} */
  Upsell.prototype.handle = function (body, fresh) {
    var status = body.status;
    if (status === 'requires_action') return this.requiresAction(body, fresh);
    if (status === 'processing') {
      this.entry.phase = 'sent';
      this.save();
      return this.poll();
    }
    if (status === 'error') return this.showError(body);
    if (FINAL[status]) {
      this.entry.phase = 'final';
      this.entry.response = body;
      this.save();
      return this.render(body);
    }
    return this.showError({ status: 'error', code: 'unknown_status', message: 'The shop answered unexpectedly.' });
  };

  /** @param {OCartAcceptBody} body */
  Upsell.prototype.render = function (body) {
    this.pollRun++;
    this.setBusy(false);
    this.clearActions();
    var status = body.status;
    if (status === 'succeeded') {
      this.withdraw();
      var ref = (body.order && (body.order.external_id || body.order.id)) || body.accept_id;
      var amount = formatMoney(body.amount, this.cfg.locale);
      this.say((amount ? amount + ' was charged to your saved payment method' : 'Charged to your saved payment method') + ' \u2014 order ' + ref + '.', 'Added to your order.');
      this.root.setAttribute('data-order-ref', String(ref));
    } else if (status === 'declined') {
      this.withdraw();
      var why = DECLINE_TEXT[body.code || ''] || body.message || '';
      this.say((why ? why + ' ' : '') + 'You have not been charged, and this offer has been withdrawn.', 'Payment declined.');
    } else if (status === 'expired') {
      this.withdraw();
      this.say('The payment was not confirmed in time. You have not been charged, and this offer has been withdrawn.', 'Offer expired.');
    } else if (status === 'rejected') {
      this.withdraw();
      this.say('You have not been charged.', REJECTED_TEXT[body.code || ''] || 'This offer could not be added to your order.');
      if (RELOADABLE[body.code || '']) this.offerReload();
    } else if (status === 'declined_by_buyer') {
      this.withdraw();
      this.say('This offer was not added.', 'No problem.');
    } else if (status === 'error') {
      return this.showError(body);
    }
    this.setState(status, body);
    if (STEP_ENDS[status] && body.next !== undefined) {
      if (body.next && body.next.token) this.advance(body.next);
      else this.finish();
    }
  };

  /** A reload shows the offer as it is now; this key belonged to the old one, so it is forgotten. */
  Upsell.prototype.offerReload = function () {
    var self = this;
    var reload = el('button', { type: 'button', class: 'ocart-upsell__reload', 'data-ocart-reload': '' }, 'Reload to see the offer');
    reload.addEventListener('click', function () {
      store.set(self.storeKey, null);
      window.location.reload();
    });
    this.actions.appendChild(reload);
  };

  /** Something failed that may pass: a retry button that sends the same key again. */
  /** @param {OCartAcceptBody} body */
  Upsell.prototype.showError = function (body) {
    this.pollRun++;
    this.entry.phase = 'error';
    this.entry.response = body;
    this.save();
    this.setBusy(false);
    this.clearActions();
    this.say(
      'We could not confirm this purchase. Retrying is safe: you will be charged at most once.',
      body.code === 'rate_limited' ? 'The shop is busy.' : 'Something went wrong.',
    );
    show(this.button, false);
    show(this.declineButton, false);
    var retry = el('button', { type: 'button', class: 'ocart-upsell__retry', 'data-ocart-retry': '' }, 'Try again');
    var self = this;
    retry.addEventListener('click', function () {
      if (self.busy) return;
      retry.disabled = true;
      self.clearActions();
      show(self.button, true);
      show(self.declineButton, true);
      self.setBusy(true);
      self.say('Trying again\u2026');
      self.setState('busy');
      self.entry.phase = 'sent';
      self.save();
      if (self.entry.declining) self.sendDecline(0);
      else self.send();
    });
    this.actions.appendChild(retry);
    this.setState('error', body);
  };

  // ---- strong customer authentication -----------------------------------------------------------
  Upsell.prototype.stripe = function () {
    if (this.options.stripe) return this.options.stripe;
    if (typeof window.Stripe === 'function' && this.cfg.stripeKey) {
      if (!this.stripeInstance) this.stripeInstance = window.Stripe(this.cfg.stripeKey);
      return this.stripeInstance;
    }
    return null;
  };

  // The gateway's bank page sends the buyer back to data-return-url (absolute on this page's origin,
  // which must be one of the service's OCART_ALLOWED_ORIGINS); without it, to the accept's status URL.
  /** @param {OCartEntry} entry */
  Upsell.prototype.acceptBody = function (entry) {
    /** @type {{ token: string, cart_id: string, return_url?: string }} */
    var body = { token: entry.token, cart_id: this.cfg.cartId };
    if (this.cfg.returnUrl) body.return_url = new URL(this.cfg.returnUrl, location.href).href;
    return body;
  };

  /** @param {OCartAction} action */
  Upsell.prototype.redirectUrl = function (action) {
    if (!action || !action.redirect_url) return '';
    var u = new URL(action.redirect_url, location.href);
    if (action.gateway === 'sandbox') u.searchParams.set('return_url', this.cfg.returnUrl || defaultReturnUrl());
    return u.toString();
  };

  /** @param {OCartAcceptBody} body @param {boolean} fresh @returns {Promise<unknown>} */
  Upsell.prototype.requiresAction = async function (body, fresh) {
    var action = body.action || {};
    this.entry.phase = 'action';
    this.entry.response = null;
    this.save();
    var stripe = action.type === 'modal' && action.gateway === 'stripe' && action.client_secret ? this.stripe() : null;

    if (!fresh) {
      // Resumed (a reload or a return from the bank): wait for the outcome, and offer the way back.
      this.setBusy(true);
      this.say('Waiting for your bank to confirm this payment\u2026');
      this.clearActions();
      var href = this.redirectUrl(action);
      if (href) {
        var link = el('a', { href: href, class: 'ocart-upsell__continue', 'data-ocart-continue': '' }, 'Continue to your bank');
        this.actions.appendChild(link);
      }
      this.setState('requires_action', body);
      return this.poll();
    }

    this.setState('requires_action', body);
    if (stripe) {
      this.say('Your bank needs to confirm this payment.');
      try {
        var result = await stripe.confirmCardPayment(action.client_secret || '');
        if (result && result.error) this.say('Your bank did not confirm the payment: ' + (result.error.message || 'authentication failed') + ' Checking\u2026');
        else this.say('Confirmed. Finishing your order\u2026');
      } catch {
        this.say('Checking the payment\u2026');
      }
      return this.poll();
    }
    var target = this.redirectUrl(action);
    if (target) {
      this.say('Your bank needs to confirm this payment. Taking you there\u2026');
      window.location.assign(target);
      return;
    }
    this.say('Waiting for your bank to confirm this payment\u2026');
    return this.poll();
  };

  // ---- status polling (after a redirect back, a reload, or a modal) ------------------------------
  Upsell.prototype.resume = async function () {
    this.setBusy(true);
    this.clearActions();
    this.say('Checking on your purchase\u2026');
    this.setState('busy');
    var first = await this.fetchStatus();
    if (first && first.http === 404) return this.notRecorded();
    if (first && TRY_LATER[first.http]) return this.poll(first.retryAfterMs);
    if (first && first.body && typeof first.body.status === 'string') return this.handle(first.body, false);
    return this.poll();
  };

  /** The server never recorded this key, so nothing happened: keep the key (and the token it may
   *  have travelled with) and let the buyer click again. */
  Upsell.prototype.notRecorded = function () {
    this.pollRun++;
    this.entry.phase = 'ready';
    this.entry.response = null;
    this.save();
    this.setBusy(false);
    this.clearActions();
    this.say('');
    this.setState('idle');
  };

  Upsell.prototype.fetchStatus = async function () {
    try {
      var res = await fetch(this.statusUrl(), { headers: { Accept: 'application/json' }, credentials: 'omit', cache: 'no-store' });
      var body = await res.json().catch(function () {
        return null;
      });
      var retryAfter = Number(res.headers.get('Retry-After'));
      return { http: res.status, body: body, retryAfterMs: retryAfter > 0 ? Math.min(retryAfter, 60) * 1000 : 0 };
    } catch {
      return null;
    }
  };

  /** Polls the status URL until the accept is final. Keeps going through processing, requires_action,
   *  network failures and "not now" answers (429, 503 temporarily_unavailable), waiting as long as
   *  their Retry-After asks. */
  /** @param {number} [firstWaitMs] @returns {Promise<unknown>} */
  Upsell.prototype.poll = async function (firstWaitMs) {
    var run = ++this.pollRun;
    var started = Date.now();
    var delay = 600;
    var wait = Math.max(delay, firstWaitMs || 0);
    this.setBusy(true);
    while (run === this.pollRun) {
      await sleep(wait);
      if (run !== this.pollRun) return;
      delay = Math.min(Math.round(delay * 1.4), 4000);
      wait = delay;
      var r = await this.fetchStatus();
      if (run !== this.pollRun) return;
      if (r && r.http === 404) return this.notRecorded();
      if (r && TRY_LATER[r.http]) wait = Math.max(delay, r.retryAfterMs);
      var s = r && r.body && r.body.status;
      if (!r || s === 'processing' || s === 'requires_action' || !s || TRY_LATER[r.http]) {
        if (Date.now() - started > this.cfg.pollTimeoutMs) return this.stillWaiting();
        continue;
      }
      return this.handle(r.body, false);
    }
  };

  Upsell.prototype.stillWaiting = function () {
    this.pollRun++;
    this.setBusy(false);
    this.clearActions();
    this.say('We are still waiting for the payment to be confirmed.');
    var again = el('button', { type: 'button', class: 'ocart-upsell__retry', 'data-ocart-check': '' }, 'Check again');
    var self = this;
    again.addEventListener('click', function () {
      self.resume();
    });
    this.actions.appendChild(again);
    this.setState('waiting');
  };

  // ---- wiring -------------------------------------------------------------------------------------
  /** @type {Upsell[]} */
  var mounted = [];

  /** @param {HTMLElement} root @param {OCartMountOptions} [options] */
  function mount(root, options) {
    if (!root || root.__ocartUpsell) return root && root.__ocartUpsell;
    var u = new Upsell(root, options);
    root.__ocartUpsell = u;
    u.mount();
    mounted.push(u);
    return u;
  }

  /** @param {ParentNode} [scope] @param {OCartMountOptions} [options] */
  function init(scope, options) {
    var nodes = (scope || document).querySelectorAll('[data-ocart-upsell]');
    Array.prototype.forEach.call(nodes, function (n) {
      mount(n, options);
    });
  }

  // Back-button returns can restore this page from the back/forward cache mid-redirect: re-check.
  window.addEventListener('pageshow', function (event) {
    if (!event.persisted) return;
    mounted.forEach(function (u) {
      if (u.entry && (u.entry.phase === 'action' || u.entry.phase === 'sent')) u.resume();
    });
  });

  window.OCartUpsells = { version: VERSION, init: init, mount: mount, formatMoney: formatMoney };

  if (document.readyState === 'loading')
    document.addEventListener('DOMContentLoaded', function () {
      init();
    });
  else init();
})();
