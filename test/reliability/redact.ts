/**
 * Redaction for what the reliability reports show: the stack's secrets by name, card numbers cut
 * to their first and last four digits.
 */
import { looksLikeCardNumber } from '../../domain/card-data.ts';
import { SECRETS } from './harness.ts';

/** The names of harness SECRETS, in the same order. */
export const SECRET_NAMES = ['OCART_API_KEY', 'token signing secret', 'SANDBOX_WEBHOOK_SECRET'];
// The same candidates looksLikeCardNumber considers, so a hit can be located and shown masked.
export const CARD_CANDIDATE = /\d[\d -]{11,22}\d/g;

export function maskSecrets(s: string): string {
  let out = s;
  SECRETS.forEach((secret, i) => (out = out.split(secret).join(`<${SECRET_NAMES[i] ?? 'secret'}>`)));
  return out;
}

export function maskCards(s: string): string {
  return s.replace(CARD_CANDIDATE, (m) => (looksLikeCardNumber(m) ? `${m.slice(0, 4)}…${m.slice(-4)}` : m));
}

/** What the reports may show: secrets named, card numbers cut to their first and last four digits. */
export function redact(s: string): string {
  return maskCards(maskSecrets(s));
}

export function excerpt(text: string, at: number, len: number): string {
  const from = Math.max(0, at - 60);
  const cut = text.slice(from, at + len + 60).replace(/\s+/g, ' ');
  return redact(`${from > 0 ? '…' : ''}${cut}${at + len + 60 < text.length ? '…' : ''}`);
}
