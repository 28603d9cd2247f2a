/* The demo thank-you page's own glue: shows the order each outcome wrote, read back from the API. */
(function () {
  'use strict';

  function money(amount) {
    if (window.OCartUpsells) return window.OCartUpsells.formatMoney(amount, 'en-US');
    return amount.value + ' ' + amount.currency;
  }

  function node(tag, attrs, text) {
    var n = document.createElement(tag);
    if (attrs)
      Object.keys(attrs).forEach(function (k) {
        n.setAttribute(k, attrs[k]);
      });
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function facts(pairs) {
    var dl = node('dl');
    pairs.forEach(function (p) {
      dl.appendChild(node('dt', null, p[0]));
      var dd = node('dd', null, p[1]);
      if (p[2]) dd.setAttribute(p[2], '');
      dl.appendChild(dd);
    });
    return dl;
  }

  async function showOrder(panel, response) {
    var ref = response.order && response.order.external_id;
    panel.hidden = false;
    panel.className = 'result';
    panel.textContent = 'Reading the order back\u2026';
    try {
      var res = await fetch('/demo/orders/' + encodeURIComponent(ref), { cache: 'no-store' });
      if (!res.ok) throw new Error('HTTP ' + res.status);
      var order = await res.json();
      var merged = response.order.kind === 'merged';
      var lines = order.line_items.map(function (li) {
        return li.name + ' \u00d7' + li.quantity + ' (' + money({ value: li.unit_amount * li.quantity, currency: order.currency }) + ')';
      });
      var payment = order.payments.filter(function (p) {
        return p.accept_id === response.accept_id;
      })[0];
      panel.textContent = '';
      panel.setAttribute('data-order-external-id', order.external_id);
      panel.appendChild(node('h4', null, merged ? 'Merged into the parent order' : 'New upsell order written'));
      panel.appendChild(
        facts([
          ['Order', order.external_id, 'data-order-ref'],
          ['Kind', merged ? 'parent (upsell merged in)' : 'child of ' + (order.parent_external_id || 'the parent order')],
          ['Status', order.status],
          ['Total', money({ value: order.total, currency: order.currency })],
          ['Line items', lines.join(', ')],
          ['Payment', payment ? payment.gateway + ' ' + payment.gateway_ref + ', ' + money(payment.amount) + ', ' + payment.status : '\u2014'],
          ['Accept (workflow id)', response.accept_id],
        ]),
      );
    } catch (e) {
      panel.textContent = 'Could not read the order back: ' + e.message;
    }
  }

  function showNone(panel, detail) {
    var r = detail.response || {};
    panel.hidden = false;
    panel.className = 'result result--none';
    panel.textContent = '';
    panel.appendChild(node('h4', null, 'No order written, nothing charged'));
    panel.appendChild(
      facts([
        ['Outcome', detail.state + (r.code ? ' (' + r.code + ')' : '')],
        ['Accept (workflow id)', detail.acceptId],
      ]),
    );
  }

  document.addEventListener('ocart:upsell', function (event) {
    var detail = event.detail || {};
    var section = event.target.closest('[data-demo-scenario]');
    var panel = section && section.querySelector('[data-demo-result]');
    if (!panel) return;
    if (detail.state === 'succeeded' && detail.response) showOrder(panel, detail.response);
    else if (detail.state === 'declined' || detail.state === 'rejected' || detail.state === 'expired') showNone(panel, detail);
    else panel.hidden = true;
  });

  document.addEventListener('click', function (event) {
    if (!event.target.closest('[data-demo-reset]')) return;
    try {
      for (var i = window.sessionStorage.length - 1; i >= 0; i--) {
        var k = window.sessionStorage.key(i);
        if (k && k.indexOf('ocart.upsell.') === 0) window.sessionStorage.removeItem(k);
      }
    } catch {
      /* nothing stored */
    }
    location.replace(location.pathname);
  });
})();
