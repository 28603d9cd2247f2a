import { describe, expect, it } from 'vitest';
import { displayMoney, escapeHtml } from '../../api/views/html.ts';
import { renderDemoScenario, DEMO_SCENARIOS } from '../../api/views/demo-page.ts';
import { renderChargeAnswered, renderChargeConfirm, renderChargeNotFound } from '../../api/views/sandbox-page.ts';

const HOSTILE = `"><script>alert('x')</script>&amp;`;

describe('escapeHtml', () => {
  it('escapes the five characters that can end text or a quoted attribute', () => {
    expect(escapeHtml(`& < > " '`)).toBe('&#38; &#60; &#62; &#34; &#39;');
  });

  it('leaves everything else as it is, non-ASCII included', () => {
    expect(escapeHtml('Trail boots, size 42 — café 😀 /path?a=1')).toBe('Trail boots, size 42 — café 😀 /path?a=1');
    expect(escapeHtml('')).toBe('');
  });

  it('escapes an entity again, so the text shows as typed', () => {
    expect(escapeHtml('&amp;')).toBe('&#38;amp;');
  });

  it('leaves no markup-breaking character in hostile input', () => {
    const out = escapeHtml(HOSTILE);
    expect(out).not.toMatch(/[<>"']/);
    expect(out).toBe('&#34;&#62;&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;&#38;amp;');
  });
});

describe('displayMoney', () => {
  it('formats minor units by the currency exponent', () => {
    expect(displayMoney(1500, 'USD')).toBe('$15.00');
    expect(displayMoney(1500, 'JPY')).toBe('¥1,500');
    expect(displayMoney(1500, 'BHD')).toMatch(/^BHD\s1\.500$/);
  });

  it('shows a code with no currency symbol by the code', () => {
    expect(displayMoney(1500, 'ZZZ')).toMatch(/15\.00/);
  });
});

describe('the pages escape what they show', () => {
  it('the demo page escapes order, line item and offer text', () => {
    const html = renderDemoScenario(
      DEMO_SCENARIOS[0],
      {
        externalId: HOSTILE,
        cartId: HOSTILE,
        status: 'paid',
        currency: 'USD',
        totalAmount: 5000,
        lineItems: [{ name: HOSTILE, quantity: 1, unitAmount: 5000, acceptKey: null }],
        children: [],
      },
      { id: 'demo-success', name: HOSTILE, amount: 1500, currency: 'USD' },
      HOSTILE,
    );
    expect(html).not.toContain('<script>');
    expect(html).toContain(escapeHtml(HOSTILE));
    expect(html).toContain('data-label="Yes, add it for $15.00"');
  });

  it('the sandbox bank pages escape the charge and the return URL', () => {
    const charge = { id: 'sbx_1', amount: 1500, currency: 'USD', methodRef: HOSTILE, status: 'requires_action' };
    for (const html of [renderChargeConfirm(charge, `/thanks?x=${HOSTILE}`), renderChargeAnswered({ ...charge, status: 'succeeded' }, HOSTILE), renderChargeNotFound(HOSTILE)]) {
      expect(html).not.toContain('<script>');
      expect(html).toContain(escapeHtml(HOSTILE));
    }
    expect(renderChargeAnswered({ ...charge, status: 'succeeded' }, null)).toContain('<strong>approved</strong>');
  });
});
