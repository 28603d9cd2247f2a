import { isIP } from 'node:net';
import { ConfigError, integer, loadSharedConfig, optional, required, type SharedConfig } from '../config/env.ts';

/** Fastify's `trustProxy`: which hops' X-Forwarded-For to believe, so per-IP means the buyer's IP. */
export type TrustProxy = boolean | number | string[];

export interface ApiConfig extends SharedConfig {
  host: string;
  port: number;
  apiKey: string;
  bodyLimitBytes: number;
  /** limits shared by every replica (counters in PostgreSQL); per minute */
  rateLimit: { perIpPerMinute: number; perCartPerMinute: number; statusPerIpPerMinute: number };
  trustProxy: TrustProxy;
  /** how long an accept waits for the workflow's answer before it answers 202 processing */
  acceptWaitMs: number;
  /** serve /demo and the sandbox SCA page */
  demoEnabled: boolean;
  /** thank-you page origins allowed to call the buyer-facing routes from the browser */
  allowedOrigins: string[];
  /** the Temporal Web UI's base URL (TEMPORAL_UI_URL); the console links each accept's workflow there. null: no links */
  temporalUiUrl: string | null;
}

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  const shared = loadSharedConfig(env);
  const apiKey = required(env, 'OCART_API_KEY', 'the bearer key of the shop-backend API');
  if (apiKey.length < 24) throw new ConfigError('OCART_API_KEY must be at least 24 characters');
  return {
    ...shared,
    host: env.HOST?.trim() || '127.0.0.1',
    port: integer(env, 'PORT', 3000, 0, 65535),
    apiKey,
    bodyLimitBytes: integer(env, 'OCART_BODY_LIMIT_BYTES', 16 * 1024, 1024, 1024 * 1024),
    rateLimit: {
      perIpPerMinute: integer(env, 'OCART_RATE_LIMIT_IP_PER_MIN', 600, 1, 1_000_000),
      perCartPerMinute: integer(env, 'OCART_RATE_LIMIT_CART_PER_MIN', 60, 1, 1_000_000),
      // A buyer's page polls about once a second while the bank or the gateway is slow.
      statusPerIpPerMinute: integer(env, 'OCART_RATE_LIMIT_STATUS_IP_PER_MIN', 1200, 1, 1_000_000),
    },
    trustProxy: parseTrustProxy(optional(env, 'OCART_TRUST_PROXY')),
    acceptWaitMs: integer(env, 'OCART_ACCEPT_WAIT_MS', 25_000, 100, 120_000),
    demoEnabled: shared.gateways.sandbox !== null && shared.env === 'development',
    allowedOrigins: parseOrigins(env.OCART_ALLOWED_ORIGINS),
    temporalUiUrl: parseTemporalUiUrl(optional(env, 'TEMPORAL_UI_URL')),
  };
}

/** `https://shop.example,https://www.shop.example`: exact origins, no wildcards, no paths. */
function parseOrigins(raw: string | undefined): string[] {
  const origins = (raw ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of origins) {
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      throw new ConfigError(`OCART_ALLOWED_ORIGINS: "${o}" is not an origin like https://shop.example`);
    }
    if (url.origin !== o) throw new ConfigError(`OCART_ALLOWED_ORIGINS: "${o}" must be a bare origin like ${url.origin}`);
  }
  return origins;
}

/** TEMPORAL_UI_URL: an http(s) URL like http://127.0.0.1:8233 (a path prefix is kept, a trailing slash dropped). */
export function parseTemporalUiUrl(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`TEMPORAL_UI_URL: "${raw}" is not a URL like http://127.0.0.1:8233`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('TEMPORAL_UI_URL must be an http or https URL');
  if (url.search || url.hash || url.username || url.password) throw new ConfigError('TEMPORAL_UI_URL must be a plain base URL, without a query, fragment or credentials');
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * OCART_TRUST_PROXY: `false` (the default: the socket's address is the client), `true` (believe
 * every hop: only when nothing but your proxy can reach the API), a hop count (`1`: one load balancer
 * in front), or a comma list of proxy addresses and CIDRs (`10.0.0.0/8,192.168.1.7`, or Fastify's
 * names loopback, linklocal, uniquelocal). Anything else stops the start: a typo here would let any
 * client choose its own IP and walk around the per-IP limit.
 */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  if (raw === undefined) return false;
  const v = raw.trim().toLowerCase();
  if (v === 'false' || v === '0') return false;
  if (v === 'true') return true;
  if (/^[0-9]+$/.test(v)) {
    const hops = Number(v);
    if (hops > 32) throw new ConfigError(`OCART_TRUST_PROXY: a hop count must be from 0 to 32, got "${raw}"`);
    return hops;
  }
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const e of entries) {
    if (PROXY_NAMES.has(e)) continue;
    const [address, prefix, extra] = e.split('/');
    const family = isIP(address ?? '');
    const prefixOk = prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32));
    if (family === 0 || !prefixOk || extra !== undefined) {
      throw new ConfigError(`OCART_TRUST_PROXY must be true, false, a hop count, or a comma list of proxy addresses/CIDRs; "${e}" is none of these`);
    }
  }
  if (entries.length === 0) throw new ConfigError('OCART_TRUST_PROXY is empty');
  return entries;
}
