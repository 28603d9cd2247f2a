import { ConfigError, integer, loadSharedConfig, required, type SharedConfig } from '../config/env.ts';

export interface ApiConfig extends SharedConfig {
  host: string;
  port: number;
  apiKey: string;
  bodyLimitBytes: number;
  rateLimit: { perIpPerMinute: number; perCartPerMinute: number };
  /** serve /demo and the sandbox SCA page */
  demoEnabled: boolean;
  /** thank-you page origins allowed to call the buyer-facing routes from the browser */
  allowedOrigins: string[];
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
    },
    demoEnabled: shared.gateways.sandbox !== null && shared.env === 'development',
    allowedOrigins: parseOrigins(env.OCART_ALLOWED_ORIGINS),
  };
}

/** `https://shop.example,https://www.shop.example`: exact origins, no wildcards, no paths. */
function parseOrigins(raw: string | undefined): string[] {
  const origins = (raw ?? '').split(',').map((o) => o.trim()).filter(Boolean);
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
