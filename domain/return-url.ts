/**
 * Where a gateway sends the buyer back after a redirect confirmation (3-D Secure on the bank's
 * page). The storefront names it; we accept only the shop's own pages, or an open redirect would
 * let anyone bounce a buyer from the bank to a page of their choosing.
 */
import { DomainError } from './errors.ts';

/**
 * The absolute return URL for a charge, or null when none was given.
 *  - a path ("/thank-you?o=1") is taken on this service's public base URL;
 *  - an absolute URL must be http(s), carry no credentials, and have one of the allowed origins
 *    (the shop's thank-you page origins) or this service's own.
 */
export function resolveReturnUrl(raw: string | undefined, allowedOrigins: readonly string[], publicBaseUrl: string): string | null {
  if (raw === undefined) return null;
  const refuse = (why: string): never => {
    throw new DomainError('return_url_not_allowed', `return_url ${why}`);
  };
  const own = new URL(publicBaseUrl);
  // "//host" and "/\host" are absolute to a browser: never read them as paths. A path joins the base
  // URL as the status URL does, keeping any path prefix the service is mounted under.
  const isPath = raw.startsWith('/') && !/^\/[/\\]/.test(raw);
  let url: URL;
  try {
    url = isPath ? new URL(`${publicBaseUrl.replace(/\/+$/, '')}${raw}`) : new URL(raw);
  } catch {
    return refuse('is not an absolute URL or a path starting with /');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') refuse('must be an http(s) URL');
  if (url.username || url.password) refuse('must not carry credentials');
  if (url.origin !== own.origin && !allowedOrigins.includes(url.origin)) {
    refuse(`origin ${url.origin} is not one of the shop's allowed origins (OCART_ALLOWED_ORIGINS)`);
  }
  return url.href;
}
