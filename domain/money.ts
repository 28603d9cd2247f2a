/** Money is an integer amount in the currency's minor unit beside an ISO 4217 code. */
export interface Money {
  value: number;
  currency: string;
}

// ISO 4217 exponents that differ from the usual 2. Everything else listed in CURRENCIES uses 2.
const ZERO_DECIMAL = new Set(['JPY', 'KRW', 'VND', 'CLP', 'ISK', 'UGX', 'XAF', 'XOF', 'RWF', 'PYG']);
const THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

export const CURRENCY_PATTERN = '^[A-Z]{3}$';

export function currencyExponent(currency: string): number {
  const code = currency.toUpperCase();
  if (ZERO_DECIMAL.has(code)) return 0;
  if (THREE_DECIMAL.has(code)) return 3;
  return 2;
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
  const abs = Math.abs(value).toString().padStart(exp + 1, '0');
  return `${sign}${abs.slice(0, -exp)}.${abs.slice(-exp)} ${currency}`;
}
