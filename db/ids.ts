import { randomBytes } from 'node:crypto';

/** Prefixed, URL-safe, random ids: ord_…, off_…, pay_…, evt_…, li_…. */
export function newId(prefix: 'ord' | 'off' | 'pay' | 'evt' | 'li' | 'sub' | 'sbx' | 'rf'): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}
