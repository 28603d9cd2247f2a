/** What every server-rendered page shares: HTML escaping and money for display. */
import { currencyExponent } from '../../domain/money.ts';

/** Escapes the five characters that matter in HTML text and in quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Minor units to a display string by the currency's exponent: 1500 USD -> "$15.00". */
export function displayMoney(value: number, currency: string): string {
  const exp = currencyExponent(currency);
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: exp, maximumFractionDigits: exp }).format(value / 10 ** exp);
  } catch {
    return `${(value / 10 ** exp).toFixed(exp)} ${currency}`;
  }
}
