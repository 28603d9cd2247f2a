/**
 * Reads and validates the environment once per process. Fails fast with a sentence naming the
 * variable; secrets have no defaults. Each process calls its own loader (api/config.ts, worker/config.ts).
 */
import { parseSigningKeys, type SigningKey } from '../domain/token.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function required(env: Env, name: string, hint: string): string {
  const v = env[name]?.trim();
  if (!v) throw new ConfigError(`${name} is required: ${hint}`);
  return v;
}

export function optional(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

export function integer(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls: boolean;
}

export interface GatewaysConfig {
  sandbox: { enabled: boolean; webhookSecret: string; latencyMs: number } | null;
  stripe: { secretKey: string; webhookSecret: string; apiBase?: string; maxNetworkRetries: number } | null;
  paystack: { secretKey: string; apiBase?: string } | null;
}

export interface SharedConfig {
  env: 'development' | 'production';
  databaseUrl: string;
  databasePoolSize: number;
  temporal: TemporalConfig;
  tokenKeys: SigningKey[];
  publicBaseUrl: string;
  gateways: GatewaysConfig;
  logLevel: string;
}

function temporalConfig(env: Env): TemporalConfig {
  const apiKey = optional(env, 'TEMPORAL_API_KEY');
  return {
    address: optional(env, 'TEMPORAL_ADDRESS') ?? '127.0.0.1:7233',
    namespace: optional(env, 'TEMPORAL_NAMESPACE') ?? 'default',
    taskQueue: optional(env, 'TEMPORAL_TASK_QUEUE') ?? 'ocart-upsells',
    ...(apiKey ? { apiKey } : {}),
    tls: boolean(env, 'TEMPORAL_TLS', apiKey !== undefined),
  };
}

function gatewaysConfig(env: Env, production: boolean): GatewaysConfig {
  const sandboxEnabled = boolean(env, 'OCART_SANDBOX_ENABLED', !production);
  if (production && sandboxEnabled) throw new ConfigError('OCART_SANDBOX_ENABLED must be false when OCART_ENV=production');
  const stripeKey = optional(env, 'STRIPE_SECRET_KEY');
  const stripeApiBase = optional(env, 'STRIPE_API_BASE');
  const paystackKey = optional(env, 'PAYSTACK_SECRET_KEY');
  const paystackApiBase = optional(env, 'PAYSTACK_API_BASE');
  return {
    sandbox: sandboxEnabled
      ? {
          enabled: true,
          webhookSecret: required(env, 'SANDBOX_WEBHOOK_SECRET', 'the secret the sandbox gateway signs its webhooks with'),
          latencyMs: integer(env, 'SANDBOX_LATENCY_MS', 0, 0, 60_000),
        }
      : null,
    stripe: stripeKey
      ? {
          secretKey: stripeKey,
          webhookSecret: required(env, 'STRIPE_WEBHOOK_SECRET', 'Stripe webhooks cannot be verified without it'),
          ...(stripeApiBase ? { apiBase: stripeApiBase } : {}),
          maxNetworkRetries: integer(env, 'STRIPE_MAX_NETWORK_RETRIES', 0, 0, 5),
        }
      : null,
    paystack: paystackKey ? { secretKey: paystackKey, ...(paystackApiBase ? { apiBase: paystackApiBase } : {}) } : null,
  };
}

export function loadSharedConfig(env: Env): SharedConfig {
  const mode = optional(env, 'OCART_ENV') ?? 'development';
  if (mode !== 'development' && mode !== 'production') throw new ConfigError(`OCART_ENV must be development or production, got "${mode}"`);
  const production = mode === 'production';
  const gateways = gatewaysConfig(env, production);
  if (production && !gateways.stripe && !gateways.paystack) {
    throw new ConfigError('production needs a real gateway: set STRIPE_SECRET_KEY or PAYSTACK_SECRET_KEY');
  }
  let tokenKeys: SigningKey[];
  try {
    tokenKeys = parseSigningKeys(required(env, 'OCART_TOKEN_SECRETS', 'signing keys as kid:secret pairs, the first signs'));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return {
    env: mode,
    databaseUrl: required(env, 'DATABASE_URL', 'the PostgreSQL connection string'),
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 200),
    temporal: temporalConfig(env),
    tokenKeys,
    publicBaseUrl: (optional(env, 'PUBLIC_BASE_URL') ?? `http://127.0.0.1:${optional(env, 'PORT') ?? '3000'}`).replace(/\/$/, ''),
    gateways,
    logLevel: optional(env, 'LOG_LEVEL') ?? (production ? 'info' : 'info'),
  };
}
