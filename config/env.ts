/**
 * Reads and validates the environment once per process. Fails fast with a sentence naming the
 * variable; secrets have no defaults. Each process calls its own loader (api/config.ts, worker/config.ts).
 */
import { readFileSync } from 'node:fs';
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

/** Client certificates for mTLS to a self-hosted Temporal, read once at start (the SDK's TLSConfig shape). */
export interface TemporalTlsFiles {
  clientCertPair?: { crt: Buffer; key: Buffer };
  serverRootCACertificate?: Buffer;
  serverNameOverride?: string;
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls: boolean;
  /** set when TEMPORAL_TLS_CERT/KEY (mTLS) or TEMPORAL_TLS_CA/SERVER_NAME are given */
  tlsFiles?: TemporalTlsFiles;
}

/** What Connection.connect and NativeConnection.connect take, for both processes alike. */
export function temporalConnectionOptions(temporal: TemporalConfig): { address: string; tls?: boolean | TemporalTlsFiles; apiKey?: string } {
  const tls = temporal.tlsFiles ?? (temporal.tls ? true : undefined);
  return {
    address: temporal.address,
    ...(tls !== undefined ? { tls } : {}),
    ...(temporal.apiKey ? { apiKey: temporal.apiKey } : {}),
  };
}

export interface GatewaysConfig {
  sandbox: { enabled: boolean; webhookSecret: string; latencyMs: number } | null;
  stripe: { secretKey: string; webhookSecret: string; apiBase?: string; maxNetworkRetries: number; timeoutMs: number } | null;
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
  logLevel: LogLevel;
  /** how long a stopping process waits for in-flight requests (API) or activities (worker) */
  shutdownGraceMs: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function logLevel(env: Env): LogLevel {
  const raw = optional(env, 'LOG_LEVEL')?.toLowerCase() ?? 'info';
  const level = LOG_LEVELS.find((l) => l === raw);
  if (!level) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return level;
}

function readPemFile(env: Env, name: string): Buffer | undefined {
  const path = optional(env, name);
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${name} names a file that cannot be read (${path}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function temporalTlsFiles(env: Env): TemporalTlsFiles | undefined {
  const crt = readPemFile(env, 'TEMPORAL_TLS_CERT');
  const key = readPemFile(env, 'TEMPORAL_TLS_KEY');
  if ((crt === undefined) !== (key === undefined)) {
    const [missing, given] = crt ? ['TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CERT'] : ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'];
    throw new ConfigError(`${missing} is required when ${given} is set: mTLS needs the client certificate and its key`);
  }
  const ca = readPemFile(env, 'TEMPORAL_TLS_CA');
  const serverName = optional(env, 'TEMPORAL_TLS_SERVER_NAME');
  if (!crt && !ca && !serverName) return undefined;
  return {
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(serverName ? { serverNameOverride: serverName } : {}),
  };
}

function temporalConfig(env: Env, production: boolean): TemporalConfig {
  const apiKey = optional(env, 'TEMPORAL_API_KEY');
  const tlsFiles = temporalTlsFiles(env);
  const tls = boolean(env, 'TEMPORAL_TLS', apiKey !== undefined || tlsFiles !== undefined);
  if (!tls && tlsFiles) {
    throw new ConfigError('TEMPORAL_TLS is false, but TEMPORAL_TLS_CERT, TEMPORAL_TLS_CA or TEMPORAL_TLS_SERVER_NAME is set: remove one or the other');
  }
  // Production names its cluster; the dev server's address is only a development default.
  const address = production
    ? required(env, 'TEMPORAL_ADDRESS', 'the Temporal frontend host:port (Temporal Cloud: <namespace>.<account>.tmprl.cloud:7233)')
    : (optional(env, 'TEMPORAL_ADDRESS') ?? '127.0.0.1:7233');
  return {
    address,
    namespace: optional(env, 'TEMPORAL_NAMESPACE') ?? 'default',
    taskQueue: optional(env, 'TEMPORAL_TASK_QUEUE') ?? 'ocart-upsells',
    ...(apiKey ? { apiKey } : {}),
    tls,
    ...(tlsFiles ? { tlsFiles } : {}),
  };
}

function publicBaseUrl(env: Env, production: boolean): string {
  const raw = production
    ? required(env, 'PUBLIC_BASE_URL', 'the public https:// address buyers and gateways reach this service at (return and SCA URLs)')
    : (optional(env, 'PUBLIC_BASE_URL') ?? `http://127.0.0.1:${integer(env, 'PORT', 3000, 0, 65535)}`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`PUBLIC_BASE_URL must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`PUBLIC_BASE_URL must be an absolute http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/$/, '');
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
          timeoutMs: integer(env, 'STRIPE_TIMEOUT_MS', 15_000, 500, 19_000),
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
    temporal: temporalConfig(env, production),
    tokenKeys,
    publicBaseUrl: publicBaseUrl(env, production),
    gateways,
    logLevel: logLevel(env),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 20_000, 0, 600_000),
  };
}

/** Configured values that must never reach a log line, whatever field or message they end up in. */
export function secretValues(config: SharedConfig & { apiKey?: string }): string[] {
  const { gateways: g } = config;
  let databasePassword: string | undefined;
  try {
    databasePassword = decodeURIComponent(new URL(config.databaseUrl).password) || undefined;
  } catch {
    databasePassword = undefined;
  }
  const values = [
    config.apiKey,
    config.temporal.apiKey,
    databasePassword,
    ...config.tokenKeys.map((k) => k.secret),
    g.sandbox?.webhookSecret,
    g.stripe?.secretKey,
    g.stripe?.webhookSecret,
    g.paystack?.secretKey,
  ];
  // Short values would blank out ordinary words; real secrets are long.
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length >= 8))];
}

// A one-click token (domain/token.ts) or any JWT: base64url JSON ("eyJ...") dot signature.
const SIGNED_TOKEN = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}(?:\.[A-Za-z0-9_-]+)?/g;

/** The last line of defence before a log line is written: known secrets and tokens are blanked. */
export function scrubSecrets(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join('[Redacted]');
    // the same value as it appears inside a JSON string
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret && out.includes(escaped)) out = out.split(escaped).join('[Redacted]');
  }
  return out.replace(SIGNED_TOKEN, '[Redacted token]');
}
