/**
 * Configuration is read once per process and fails fast, with a sentence that names the
 * variable. Production refuses to start without its secrets, or with the sandbox gateway on.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../api/config.ts';
import { ConfigError, scrubSecrets, secretValues, temporalConnectionOptions } from '../config/env.ts';
import { loadWorkerConfig } from '../worker/config.ts';

const TOKEN_SECRETS = 'k1:0123456789abcdef0123456789abcdef-signing';
const API_KEY = 'shop-api-key-0123456789abcdef';

/** A development environment that starts. */
const dev = (extra: Record<string, string | undefined> = {}) => ({
  DATABASE_URL: 'postgresql://ocart:db-password-123@db.internal:5432/ocart',
  OCART_API_KEY: API_KEY,
  OCART_TOKEN_SECRETS: TOKEN_SECRETS,
  SANDBOX_WEBHOOK_SECRET: 'sandbox-webhook-secret',
  ...extra,
});

/** A production environment that starts: real gateway, no sandbox, named Temporal and base URL. */
const prod = (extra: Record<string, string | undefined> = {}) => ({
  OCART_ENV: 'production',
  DATABASE_URL: 'postgresql://ocart:db-password-123@db.internal:5432/ocart',
  OCART_API_KEY: API_KEY,
  OCART_TOKEN_SECRETS: TOKEN_SECRETS,
  STRIPE_SECRET_KEY: 'sk_live_0123456789abcdef',
  STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef',
  TEMPORAL_ADDRESS: 'temporal.internal:7233',
  PUBLIC_BASE_URL: 'https://shop.example.com/',
  ...extra,
});

function configError(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError, but the configuration loaded');
}

describe('configuration: a valid environment loads', () => {
  it('development starts with the embedded defaults and the sandbox on', () => {
    const c = loadApiConfig(dev());
    expect(c.env).toBe('development');
    expect(c.gateways.sandbox).not.toBeNull();
    expect(c.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'ocart-upsells', tls: false });
    expect(c.publicBaseUrl).toBe('http://127.0.0.1:3000');
    expect(c.logLevel).toBe('info');
  });

  it('production starts with its secrets, a real gateway and the sandbox off', () => {
    const c = loadApiConfig(prod());
    expect(c.env).toBe('production');
    expect(c.gateways.sandbox).toBeNull();
    expect(c.gateways.stripe).not.toBeNull();
    expect(c.publicBaseUrl).toBe('https://shop.example.com');
    expect(loadWorkerConfig(prod()).temporal.address).toBe('temporal.internal:7233');
  });
});

describe('configuration errors name the variable', () => {
  it.each([
    ['DATABASE_URL', { DATABASE_URL: undefined }],
    ['OCART_TOKEN_SECRETS', { OCART_TOKEN_SECRETS: undefined }],
    ['OCART_API_KEY', { OCART_API_KEY: undefined }],
    ['SANDBOX_WEBHOOK_SECRET', { SANDBOX_WEBHOOK_SECRET: '' }],
  ])('a missing secret is refused: %s', (name, change) => {
    const message = configError(() => loadApiConfig(dev(change)));
    expect(message).toMatch(new RegExp(`^${name} is required`));
  });

  it('OCART_ENV must be development or production', () => {
    expect(configError(() => loadApiConfig(dev({ OCART_ENV: 'staging' })))).toContain('OCART_ENV must be development or production, got "staging"');
  });

  it('production refuses the sandbox gateway', () => {
    expect(configError(() => loadApiConfig(prod({ OCART_SANDBOX_ENABLED: 'true' })))).toBe('OCART_SANDBOX_ENABLED must be false when OCART_ENV=production');
  });

  it('production refuses to start without a real gateway', () => {
    const message = configError(() => loadApiConfig(prod({ STRIPE_SECRET_KEY: undefined, STRIPE_WEBHOOK_SECRET: undefined })));
    expect(message).toContain('STRIPE_SECRET_KEY or PAYSTACK_SECRET_KEY');
  });

  it('production refuses to start without its secrets', () => {
    expect(configError(() => loadApiConfig(prod({ OCART_API_KEY: undefined })))).toMatch(/^OCART_API_KEY is required/);
    expect(configError(() => loadWorkerConfig(prod({ OCART_TOKEN_SECRETS: undefined })))).toMatch(/^OCART_TOKEN_SECRETS is required/);
    expect(configError(() => loadWorkerConfig(prod({ STRIPE_WEBHOOK_SECRET: undefined })))).toMatch(/^STRIPE_WEBHOOK_SECRET is required/);
  });

  it('production names its Temporal cluster and its public address instead of using local defaults', () => {
    expect(configError(() => loadWorkerConfig(prod({ TEMPORAL_ADDRESS: undefined })))).toMatch(/^TEMPORAL_ADDRESS is required/);
    expect(configError(() => loadApiConfig(prod({ PUBLIC_BASE_URL: undefined })))).toMatch(/^PUBLIC_BASE_URL is required/);
  });

  it('weak secrets are refused', () => {
    expect(configError(() => loadApiConfig(dev({ OCART_API_KEY: 'short' })))).toContain('OCART_API_KEY must be at least 24 characters');
    expect(configError(() => loadApiConfig(dev({ OCART_TOKEN_SECRETS: 'k1:too-short' })))).toContain('OCART_TOKEN_SECRETS');
  });

  it.each([
    ['PORT', { PORT: 'eighty' }, 'PORT must be a whole number from 0 to 65535, got "eighty"'],
    ['DATABASE_POOL_SIZE', { DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE must be a whole number from 1 to 200'],
    ['SHUTDOWN_GRACE_MS', { SHUTDOWN_GRACE_MS: '-1' }, 'SHUTDOWN_GRACE_MS must be a whole number'],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
    ['TEMPORAL_TLS', { TEMPORAL_TLS: 'maybe' }, 'TEMPORAL_TLS must be true or false, got "maybe"'],
    ['PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'shop.example.com' }, 'PUBLIC_BASE_URL must be an absolute http(s) URL'],
  ])('a malformed value is refused: %s', (_name, change, expected) => {
    expect(configError(() => loadApiConfig(dev(change)))).toContain(expected);
  });

  it('worker settings are checked too; its metrics servers are on by default in production only', () => {
    expect(configError(() => loadWorkerConfig(dev({ WORKER_METRICS_PORT: '99999' })))).toContain('WORKER_METRICS_PORT must be a whole number from 0 to 65535');
    expect(configError(() => loadWorkerConfig(dev({ WORKER_METRICS_PORT: '9500', WORKER_SDK_METRICS_PORT: '9500' })))).toContain(
      'WORKER_SDK_METRICS_PORT must differ from WORKER_METRICS_PORT',
    );
    expect(loadWorkerConfig(dev()).metrics).toEqual({ host: '127.0.0.1', port: 0, sdkPort: 0 });
    expect(loadWorkerConfig(prod({ WORKER_METRICS_HOST: '0.0.0.0' })).metrics).toEqual({ host: '0.0.0.0', port: 9464, sdkPort: 9465 });
    expect(loadWorkerConfig(dev({ WORKER_METRICS_PORT: '9100' })).metrics.port).toBe(9100);
    expect(loadWorkerConfig(dev()).outbox).toEqual({ pollMs: 200, wakeDelayMs: 10, leaseMs: 120_000 });
    expect(loadWorkerConfig(dev({ OUTBOX_WAKE_DELAY_MS: '0' })).outbox.wakeDelayMs).toBe(0);
    expect(configError(() => loadWorkerConfig(dev({ OUTBOX_WAKE_DELAY_MS: '5000' })))).toContain('OUTBOX_WAKE_DELAY_MS must be a whole number from 0 to 1000');
  });
});

describe('Temporal connection settings', () => {
  const pem = (name: string, text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'ocart-tls-'));
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('an API key (Temporal Cloud) turns TLS on', () => {
    const c = loadWorkerConfig(dev({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'temporal-cloud-key-123' }));
    expect(temporalConnectionOptions(c.temporal)).toEqual({ address: 'ns.acct.tmprl.cloud:7233', tls: true, apiKey: 'temporal-cloud-key-123' });
  });

  it('mTLS reads the client certificate and key (and an optional CA) from the named files', () => {
    const cert = pem('client.pem', 'CERT');
    const key = pem('client.key', 'KEY');
    const ca = pem('ca.pem', 'CA');
    const c = loadWorkerConfig(dev({ TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }));
    const options = temporalConnectionOptions(c.temporal);
    expect(options.tls).toEqual({
      clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
      serverRootCACertificate: Buffer.from('CA'),
      serverNameOverride: 'temporal.internal',
    });
  });

  it('mTLS needs both halves, readable files, and TLS left on', () => {
    const cert = pem('client.pem', 'CERT');
    expect(configError(() => loadWorkerConfig(dev({ TEMPORAL_TLS_CERT: cert })))).toMatch(/^TEMPORAL_TLS_KEY is required when TEMPORAL_TLS_CERT is set/);
    expect(configError(() => loadWorkerConfig(dev({ TEMPORAL_TLS_KEY: cert })))).toMatch(/^TEMPORAL_TLS_CERT is required when TEMPORAL_TLS_KEY is set/);
    expect(configError(() => loadWorkerConfig(dev({ TEMPORAL_TLS_CERT: '/nonexistent/client.pem', TEMPORAL_TLS_KEY: cert })))).toMatch(
      /^TEMPORAL_TLS_CERT names a file that cannot be read \(\/nonexistent\/client\.pem\): ENOENT/,
    );
    expect(configError(() => loadWorkerConfig(dev({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: cert })))).toMatch(/^TEMPORAL_TLS is false/);
  });
});

describe('secrets never reach a log line', () => {
  it('every configured secret is known, and scrubbed wherever it appears', () => {
    const c = loadApiConfig(prod({ PAYSTACK_SECRET_KEY: 'sk_paystack_0123456789', TEMPORAL_API_KEY: 'temporal-key-0123456789' }));
    const secrets = secretValues(c);
    expect(secrets).toEqual(
      expect.arrayContaining([
        API_KEY,
        TOKEN_SECRETS.slice(3),
        'sk_live_0123456789abcdef',
        'whsec_0123456789abcdef',
        'sk_paystack_0123456789',
        'temporal-key-0123456789',
        'db-password-123',
      ]),
    );
    const line = JSON.stringify({ msg: `calling with Bearer ${API_KEY}`, err: { message: 'stripe said sk_live_0123456789abcdef is invalid' } });
    const scrubbed = scrubSecrets(line, secrets);
    expect(scrubbed).not.toContain(API_KEY);
    expect(scrubbed).not.toContain('sk_live_0123456789abcdef');
    expect(scrubbed).toContain('[Redacted]');
  });

  it('one-click tokens are scrubbed by their shape', () => {
    const token = `${Buffer.from(JSON.stringify({ v: 1, kid: 'k1', off: 'off_1', ord: 'wc-1' })).toString('base64url')}.${'s'.repeat(43)}`;
    expect(scrubSecrets(`{"msg":"bad token ${token}"}`, [])).toBe('{"msg":"bad token [Redacted token]"}');
  });
});
