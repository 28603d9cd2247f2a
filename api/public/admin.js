/*
 * The merchant console (GET /admin). Signs in with the shop API key, which lives in this closure's
 * variable only: never a cookie, never web storage, gone on reload. Every call sends it as
 * `Authorization: Bearer`. Everything the server sends is written with textContent, never as HTML.
 */
/* global Chart */
(function () {
  'use strict';

  var API = '/wp-json/ocart/v1';
  var DAY_MS = 86400000;

  /** The shop API key: memory only. */
  var apiKey = null;
  var digits = {};
  var chart = null;
  var report = null;
  /** The accept the refund dialog is about, and the key of its last unanswered attempt. */
  var refundTarget = null;
  var pendingRefundKey = null;
  var refundOpener = null;

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        var v = props[k];
        if (v === null || v === undefined) return;
        if (k === 'text') node.textContent = String(v);
        else if (k === 'className') node.className = v;
        else node.setAttribute(k, String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  async function call(method, path, body, extraHeaders) {
    var headers = { accept: 'application/json' };
    if (apiKey !== null) headers.authorization = 'Bearer ' + apiKey;
    if (body !== undefined) headers['content-type'] = 'application/json';
    Object.assign(headers, extraHeaders || {});
    var res;
    try {
      res = await fetch(API + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
    } catch {
      return { status: 0, ok: false, body: { code: 'network_error', message: 'The service could not be reached.' } };
    }
    var json = await res.json().catch(function () {
      return null;
    });
    return { status: res.status, ok: res.ok, body: json };
  }

  function errorText(r) {
    var b = r.body || {};
    return (b.message || 'Something went wrong.') + (b.code ? ' (' + b.code + ')' : '');
  }

  // ---- Money and numbers ----

  function exponent(currency) {
    return Object.prototype.hasOwnProperty.call(digits, currency) ? digits[currency] : 2;
  }

  function money(value, currency) {
    var exp = exponent(currency);
    try {
      return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency, minimumFractionDigits: exp, maximumFractionDigits: exp }).format(value / Math.pow(10, exp));
    } catch {
      return (value / Math.pow(10, exp)).toFixed(exp) + ' ' + currency;
    }
  }

  function percent(rate) {
    return rate === null || rate === undefined ? '—' : (rate * 100).toFixed(1) + '%';
  }

  function whenText(iso) {
    return new Date(iso).toLocaleString('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  /** "12.50" in the currency's major units to minor units, or null when it is not such an amount. */
  function toMinor(text, currency) {
    var exp = exponent(currency);
    var t = text.trim();
    var re = exp > 0 ? new RegExp('^\\d+(\\.\\d{1,' + exp + '})?$') : /^\d+$/;
    if (!re.test(t)) return null;
    var parts = t.split('.');
    var frac = (parts[1] || '').padEnd(exp, '0');
    return Number(parts[0]) * Math.pow(10, exp) + (exp > 0 ? Number(frac) : 0);
  }

  function toMajorText(value, currency) {
    var exp = exponent(currency);
    return (value / Math.pow(10, exp)).toFixed(exp);
  }

  var toastTimer = null;
  function toast(text) {
    var t = $('toast');
    t.textContent = text;
    t.classList.add('show');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {
      t.classList.remove('show');
    }, 6000);
  }

  // ---- Offers and the chart ----

  async function loadOffers() {
    var days = Number($('range').value);
    var from = new Date(Date.now() - days * DAY_MS).toISOString();
    $('offers-status').textContent = 'Loading…';
    var r = await call('GET', '/analytics/offers?interval=day&from=' + encodeURIComponent(from));
    if (!r.ok) {
      $('offers-status').textContent = 'Could not load the offers: ' + errorText(r);
      return;
    }
    report = r.body;
    renderOffers();
    renderChart();
  }

  function renderOffers() {
    var body = $('offers-table').tBodies[0];
    body.replaceChildren();
    var offers = report.offers;
    $('offers-status').textContent = offers.length
      ? offers.length + (offers.length === 1 ? ' offer' : ' offers') + ' with activity in this range.'
      : 'No offer activity in this range yet.';
    offers.forEach(function (o) {
      var cell = function (field, text, num) {
        return el('td', { 'data-field': field, className: num ? 'num' : null, text: text });
      };
      var name = el('th', { scope: 'row', 'data-field': 'offer' }, [
        el('span', { className: 'offer-name', text: o.name || o.offer_id }),
        el('span', { className: 'muted small block', text: o.offer_id }),
      ]);
      var sca = o.sca_started ? o.sca_abandoned + ' of ' + o.sca_started + ' (' + percent(o.sca_abandonment_rate) + ')' : '0';
      body.appendChild(
        el('tr', { 'data-offer-id': o.offer_id, 'data-step-id': o.step_id || '', 'data-currency': o.currency }, [
          name,
          cell('step', o.step_id || '—'),
          cell('impressions', String(o.impressions), true),
          cell('accepts', String(o.accepts), true),
          cell('conversion_rate', percent(o.conversion_rate), true),
          cell('buyer_declines', String(o.buyer_declines), true),
          cell('payment_declines', String(o.payment_declines), true),
          cell('sca_abandoned', sca, true),
          cell('gross_revenue', money(o.gross_revenue.value, o.currency), true),
          cell('refunds', money(o.refunds.value, o.currency), true),
          cell('net_revenue', money(o.net_revenue.value, o.currency), true),
          cell('median_answer_ms', o.median_answer_ms === null ? '—' : o.median_answer_ms + ' ms', true),
        ]),
      );
    });
  }

  function chartCurrencies() {
    var byCurrency = {};
    report.offers.forEach(function (o) {
      byCurrency[o.currency] = (byCurrency[o.currency] || 0) + o.accepts + o.impressions;
    });
    return Object.keys(byCurrency).sort(function (a, b) {
      return byCurrency[b] - byCurrency[a] || (a < b ? -1 : 1);
    });
  }

  function renderChart() {
    var currencies = chartCurrencies();
    var select = $('chart-currency');
    var chosen = currencies.indexOf(select.value) >= 0 ? select.value : currencies[0];
    select.replaceChildren.apply(
      select,
      currencies.map(function (c) {
        return el('option', { value: c, text: c });
      }),
    );
    if (chosen) select.value = chosen;
    $('chart-currency-wrap').hidden = currencies.length < 2;

    var buckets = {};
    var totals = { impressions: 0, accepts: 0, net: 0 };
    report.offers
      .filter(function (o) {
        return o.currency === chosen;
      })
      .forEach(function (o) {
        totals.impressions += o.impressions;
        totals.accepts += o.accepts;
        totals.net += o.net_revenue.value;
        o.series.forEach(function (s) {
          var day = s.start.slice(0, 10);
          var b = buckets[day] || (buckets[day] = { impressions: 0, accepts: 0, net: 0 });
          b.impressions += s.impressions;
          b.accepts += s.accepts;
          b.net += s.net_revenue.value;
        });
      });
    var days = Object.keys(buckets).sort();
    var exp = chosen ? exponent(chosen) : 2;
    var conversion = days.map(function (d) {
      return buckets[d].impressions ? Math.round((buckets[d].accepts / buckets[d].impressions) * 1000) / 10 : null;
    });
    var net = days.map(function (d) {
      return buckets[d].net / Math.pow(10, exp);
    });
    $('chart-summary').textContent = chosen
      ? 'In ' +
        chosen +
        ' over the range: ' +
        totals.accepts +
        ' accepts of ' +
        totals.impressions +
        ' impressions (' +
        percent(totals.impressions ? totals.accepts / totals.impressions : null) +
        '), net revenue ' +
        money(totals.net, chosen) +
        '.'
      : 'Nothing to chart in this range yet.';
    $('chart').setAttribute('aria-label', 'Chart of conversion and net revenue per day. ' + $('chart-summary').textContent);

    if (typeof Chart === 'undefined') return;
    var data = {
      labels: days,
      datasets: [
        {
          type: 'bar',
          label: 'Net revenue (' + (chosen || '') + ')',
          data: net,
          yAxisID: 'revenue',
          backgroundColor: 'rgba(37, 99, 235, 0.75)',
          borderRadius: 4,
          maxBarThickness: 56,
          order: 2,
        },
        {
          type: 'line',
          label: 'Conversion (%)',
          data: conversion,
          yAxisID: 'conversion',
          borderColor: '#b45309',
          backgroundColor: '#b45309',
          tension: 0.25,
          spanGaps: true,
          pointRadius: 4,
          order: 1,
        },
      ],
    };
    if (chart) {
      chart.data = data;
      chart.update();
      return;
    }
    chart = new Chart($('chart'), {
      data: data,
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { labels: { color: '#1f2937' } } },
        scales: {
          x: { ticks: { color: '#374151' }, grid: { display: false } },
          revenue: { type: 'linear', position: 'left', beginAtZero: true, title: { display: true, text: 'Net revenue', color: '#374151' }, ticks: { color: '#374151' } },
          conversion: {
            type: 'linear',
            position: 'right',
            beginAtZero: true,
            suggestedMax: 100,
            title: { display: true, text: 'Conversion %', color: '#374151' },
            ticks: { color: '#374151' },
            grid: { drawOnChartArea: false },
          },
        },
      },
    });
  }

  // ---- Why not shown ----

  async function checkOrder(event) {
    event.preventDefault();
    var id = $('why-order').value.trim();
    var out = $('why-result');
    out.replaceChildren();
    if (!id) {
      out.appendChild(el('p', { className: 'error', text: 'Enter a parent order id.' }));
      $('why-order').focus();
      return;
    }
    out.appendChild(el('p', { className: 'muted', text: 'Checking…' }));
    var r = await call('GET', '/orders/' + encodeURIComponent(id) + '/offers');
    out.replaceChildren();
    if (!r.ok) {
      out.appendChild(el('p', { className: 'error', text: r.status === 404 ? 'No order "' + id + '" is registered.' : errorText(r) }));
      return;
    }
    var offers = r.body.offers;
    out.appendChild(
      el('p', { className: 'small muted', text: 'Order ' + r.body.order_id + ': ' + offers.length + (offers.length === 1 ? ' active offer' : ' active offers') + '.' }),
    );
    var list = el('ul', { className: 'why-list' });
    offers.forEach(function (o) {
      var title = o.offer_id + (o.step_id ? ' (step ' + o.step_id + ')' : '');
      var reasons = el(
        'ul',
        { className: 'reasons' },
        o.reasons.map(function (reason) {
          return el('li', null, [el('code', { text: reason.code }), ' ' + reason.message]);
        }),
      );
      list.appendChild(
        el('li', { 'data-offer-id': o.offer_id, 'data-eligible': String(o.eligible) }, [
          el('span', { className: 'badge ' + (o.eligible ? 'ok' : 'bad'), text: o.eligible ? 'Shown' : 'Not shown' }),
          ' ',
          el('strong', { text: title }),
          o.reasons.length ? reasons : null,
        ]),
      );
    });
    if (!offers.length) list.appendChild(el('li', { text: 'No active offers.' }));
    out.appendChild(list);
  }

  // ---- Recent accepts and refunds ----

  var STATUS_CLASS = { succeeded: 'ok', declined: 'bad', rejected: 'bad', error: 'bad', expired: 'warn', processing: 'warn', requires_action: 'warn' };

  async function loadAccepts() {
    $('accepts-status').textContent = 'Loading…';
    var r = await call('GET', '/upsells/accepts?limit=20');
    if (!r.ok) {
      $('accepts-status').textContent = 'Could not load the accepts: ' + errorText(r);
      return;
    }
    var body = $('accepts-table').tBodies[0];
    body.replaceChildren();
    var accepts = r.body.accepts;
    $('accepts-status').textContent = accepts.length ? 'The ' + accepts.length + ' most recent, newest first.' : 'No accepts yet.';
    accepts.forEach(function (a) {
      var refunded = a.refunded && a.refunded.value > 0;
      var label = a.status.replace('_', ' ') + (refunded ? (a.refundable ? ', partly refunded' : ', refunded') : '');
      var status = el('td', { 'data-field': 'status' }, [el('span', { className: 'badge ' + (STATUS_CLASS[a.status] || 'warn'), text: label })]);
      if (a.error_code) status.appendChild(el('span', { className: 'muted small block', text: a.error_code }));
      var link = a.temporal_ui_url
        ? el('a', {
            href: a.temporal_ui_url,
            target: '_blank',
            rel: 'noopener noreferrer',
            'aria-label': 'Workflow of accept ' + a.accept_id + ' in the Temporal UI (opens a new tab)',
            text: 'Temporal ↗',
          })
        : el('span', { className: 'muted', text: '—' });
      var action = null;
      if (a.refundable) {
        action = el('button', { type: 'button', className: 'btn small-btn', 'data-action': 'refund', 'aria-label': 'Refund accept ' + a.accept_id, text: 'Refund…' });
        action.addEventListener('click', function () {
          openRefund(a, action);
        });
      }
      body.appendChild(
        el('tr', { 'data-accept-id': a.accept_id, 'data-status': a.status }, [
          el('td', { 'data-field': 'created_at' }, [
            el('time', { datetime: a.created_at, text: whenText(a.created_at) }),
            el('span', { className: 'muted small block mono', title: a.accept_id, text: a.accept_id.slice(0, 18) + (a.accept_id.length > 18 ? '…' : '') }),
          ]),
          el('td', { 'data-field': 'offer' }, [el('span', { text: a.offer_name || a.offer_id }), el('span', { className: 'muted small block', text: a.offer_id })]),
          el('td', { 'data-field': 'parent_order_id', className: 'mono', text: a.parent_order_id || '—' }),
          status,
          el('td', { 'data-field': 'amount', className: 'num', text: a.amount ? money(a.amount.value, a.amount.currency) : '—' }),
          el('td', { 'data-field': 'refunded', className: 'num', text: a.refunded && a.refunded.value ? money(a.refunded.value, a.refunded.currency) : '—' }),
          el('td', { 'data-field': 'workflow' }, [link]),
          el('td', { 'data-field': 'actions' }, [action]),
        ]),
      );
    });
  }

  function openRefund(a, opener) {
    refundTarget = a;
    pendingRefundKey = null;
    refundOpener = opener;
    var left = a.amount.value - a.refunded.value;
    var already = a.refunded.value ? '; ' + money(a.refunded.value, a.amount.currency) + ' already refunded' : '';
    $('refund-desc').textContent =
      (a.offer_name || a.offer_id) +
      ' for order ' +
      (a.parent_order_id || '—') +
      ' charged ' +
      money(a.amount.value, a.amount.currency) +
      already +
      '. The money goes back to the buyer through ' +
      (a.gateway || 'the gateway') +
      '. This cannot be undone.';
    $('refund-currency').textContent = a.amount.currency;
    $('refund-amount').value = toMajorText(left, a.amount.currency);
    $('refund-help').textContent = 'Up to ' + money(left, a.amount.currency) + '.';
    $('refund-error').textContent = '';
    $('refund-confirm').disabled = false;
    $('refund-confirm').textContent = 'Refund ' + money(left, a.amount.currency);
    $('refund-dialog').showModal();
    $('refund-amount').focus();
    $('refund-amount').select();
  }

  function closeRefund() {
    var dialog = $('refund-dialog');
    if (dialog.open) dialog.close();
  }

  function onRefundAmountInput() {
    if (!refundTarget) return;
    var minor = toMinor($('refund-amount').value, refundTarget.amount.currency);
    $('refund-confirm').textContent = minor ? 'Refund ' + money(minor, refundTarget.amount.currency) : 'Refund';
  }

  async function confirmRefund(event) {
    event.preventDefault();
    var a = refundTarget;
    if (!a) return;
    var currency = a.amount.currency;
    var left = a.amount.value - a.refunded.value;
    var minor = toMinor($('refund-amount').value, currency);
    if (minor === null || minor <= 0) {
      $('refund-error').textContent = 'Enter an amount like ' + toMajorText(left, currency) + '.';
      $('refund-amount').focus();
      return;
    }
    if (minor > left) {
      $('refund-error').textContent = 'At most ' + money(left, currency) + ' is left to refund.';
      $('refund-amount').focus();
      return;
    }
    // A new key for each confirmation; an unanswered attempt is retried under its own key, so it can never refund twice.
    var key = pendingRefundKey || 'console-' + crypto.randomUUID();
    pendingRefundKey = key;
    var button = $('refund-confirm');
    button.disabled = true;
    button.textContent = 'Refunding…';
    $('refund-error').textContent = '';
    var r = await call('POST', '/upsells/accepts/' + encodeURIComponent(a.accept_id) + '/refund', { amount: minor }, { 'idempotency-key': key });
    if (r.ok) {
      pendingRefundKey = null;
      refundTarget = null;
      closeRefund();
      toast(
        'Refunded ' +
          money(r.body.refund.amount.value, r.body.refund.amount.currency) +
          ' (' +
          r.body.refund.status +
          '). ' +
          money(r.body.refunded_total.value, r.body.refunded_total.currency) +
          ' refunded on this upsell in all.',
      );
      await Promise.all([loadAccepts(), loadOffers()]);
      $('accepts-title').focus();
      return;
    }
    // A definite refusal frees the key; no answer (503, network) keeps it for the retry.
    if (r.status !== 0 && r.status !== 503) pendingRefundKey = null;
    button.disabled = false;
    button.textContent = 'Try again';
    $('refund-error').textContent = (r.status === 503 || r.status === 0 ? 'No answer yet: try again (it will not refund twice). ' : 'Not refunded: ') + errorText(r);
  }

  // ---- Sign in and out ----

  async function signIn(event) {
    event.preventDefault();
    var input = $('api-key');
    var key = input.value.trim();
    var error = $('sign-in-error');
    if (!key) {
      error.textContent = 'Enter the shop API key.';
      input.focus();
      return;
    }
    error.textContent = '';
    apiKey = key;
    var r = await call('GET', '/upsells/accepts?limit=1');
    if (!r.ok) {
      apiKey = null;
      error.textContent = r.status === 401 ? 'That key was not accepted.' : 'Could not sign in: ' + errorText(r);
      input.focus();
      return;
    }
    input.value = '';
    $('sign-in').hidden = true;
    $('console').hidden = false;
    $('sign-out').hidden = false;
    var currencies = await call('GET', '/currencies');
    if (currencies.ok && currencies.body) digits = currencies.body;
    await Promise.all([loadOffers(), loadAccepts()]);
    $('offers-title').setAttribute('tabindex', '-1');
    $('offers-title').focus();
  }

  function signOut() {
    apiKey = null;
    report = null;
    if (chart) {
      chart.destroy();
      chart = null;
    }
    $('offers-table').tBodies[0].replaceChildren();
    $('accepts-table').tBodies[0].replaceChildren();
    $('why-result').replaceChildren();
    $('console').hidden = true;
    $('sign-out').hidden = true;
    $('sign-in').hidden = false;
    $('api-key').focus();
  }

  function start() {
    $('sign-in-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', signOut);
    $('refresh').addEventListener('click', function () {
      void Promise.all([loadOffers(), loadAccepts()]);
    });
    $('range').addEventListener('change', function () {
      void loadOffers();
    });
    $('chart-currency').addEventListener('change', renderChart);
    $('why-form').addEventListener('submit', checkOrder);
    $('refund-form').addEventListener('submit', confirmRefund);
    $('refund-amount').addEventListener('input', onRefundAmountInput);
    $('refund-cancel').addEventListener('click', closeRefund);
    $('refund-dialog').addEventListener('close', function () {
      refundTarget = null;
      if (refundOpener && refundOpener.isConnected) refundOpener.focus();
      refundOpener = null;
    });
    $('accepts-title').setAttribute('tabindex', '-1');
    $('api-key').focus();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
