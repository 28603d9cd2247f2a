/** Money is an integer amount in the currency's minor unit beside an ISO 4217 code. */
import { code as iso4217, codes as iso4217Codes } from 'currency-codes';

export interface Money {
  value: number;
  currency: string;
}

export const CURRENCY_PATTERN = '^[A-Z]{3}$';

/**
 * ISO 4217's minor-unit digits for a code, from the maintained table in `currency-codes` (the
 * ISO list itself, not a hand-kept copy); null for a code ISO does not list.
 */
export function currencyDigits(currency: string): number | null {
  const found = iso4217(currency.toUpperCase());
  return found ? found.digits : null;
}

/** The exponent our minor units use. A code ISO does not list is formatted as two-decimal, never charged. */
export function currencyExponent(currency: string): number {
  return currencyDigits(currency) ?? 2;
}

// Funds, metals and testing codes (XAU, XDR, XTS, ...) are listed by ISO but are never a price.
const NOT_A_PRICE = /^X(AG|AU|BA|BB|BC|BD|DR|PD|PT|SU|TS|UA|XX)$/;

/** Every ISO 4217 currency with its digits: the one table the storefront formats amounts with. */
export function currencyTable(): Record<string, number> {
  return Object.fromEntries(
    iso4217Codes()
      .filter((c) => !NOT_A_PRICE.test(c))
      .sort()
      .map((c) => [c, currencyDigits(c) ?? 2]),
  );
}

/** A safe integer amount of minor units that a gateway can charge: positive and below 10^11. */
export function isChargeableAmount(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0 && value < 100_000_000_000;
}

/** For people reading logs and pages: 12345 USD -> "123.45 USD". Never used for arithmetic. */
export function formatMoney({ value, currency }: Money): string {
  const exp = currencyExponent(currency);
  if (exp === 0) return `${value} ${currency}`;
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value)
    .toString()
    .padStart(exp + 1, '0');
  return `${sign}${abs.slice(0, -exp)}.${abs.slice(-exp)} ${currency}`;
}

// ---------------------------------------------------------------------------------------------
// Stripe's minor units (docs.stripe.com/currencies), which are not always ISO 4217's.

/** Stripe's zero-decimal currencies: the amount is whole units. */
const STRIPE_ZERO_DECIMAL = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);
/** Stripe's three-decimal currencies: sent with three decimals, the last one always 0. */
const STRIPE_THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);
/**
 * Stripe's special cases: sent as two-decimal values whose decimals must be 00. ISK and UGX are
 * zero-decimal in ISO but two-decimal in Stripe's API for backwards compatibility; HUF and TWD are
 * two-decimal in ISO, and Stripe takes only amounts divisible by 100 in them.
 */
const STRIPE_WHOLE_UNITS_AS_TWO_DECIMAL = new Set(['ISK', 'UGX', 'HUF', 'TWD']);

/** Why an amount cannot go to Stripe as is. Refused, never rounded: the buyer pays the price shown or nothing. */
export type StripeAmount = { ok: true; amount: number } | { ok: false; reason: string };

/** Our minor units (ISO 4217) to the integer Stripe expects for the same money. */
export function stripeAmount(money: Money): StripeAmount {
  const code = money.currency.toUpperCase();
  const iso = currencyDigits(code);
  if (iso === null) return { ok: false, reason: `${code} is not an ISO 4217 currency` };
  const stripeDigits = STRIPE_ZERO_DECIMAL.has(code) ? 0 : STRIPE_THREE_DECIMAL.has(code) ? 3 : 2;
  const shift = stripeDigits - iso;
  const amount = shift >= 0 ? money.value * 10 ** shift : money.value / 10 ** -shift;
  if (!Number.isSafeInteger(amount)) return { ok: false, reason: `Stripe takes ${code} in whole units, not ${formatMoney(money)}` };
  if (stripeDigits === 3 && amount % 10 !== 0) return { ok: false, reason: `Stripe takes ${code} only in multiples of 10 minor units, not ${formatMoney(money)}` };
  if (STRIPE_WHOLE_UNITS_AS_TWO_DECIMAL.has(code) && amount % 100 !== 0) {
    return { ok: false, reason: `Stripe takes ${code} only in whole units (amounts divisible by 100), not ${formatMoney(money)}` };
  }
  return { ok: true, amount };
}
