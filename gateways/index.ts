/** Builds the registry from configuration: only configured gateways are present. */
import type { GatewaysConfig } from '../config/env.ts';
import type { Db } from '../db/client.ts';
import type { PaymentGateway } from './gateway.ts';
import { createPaystackGateway } from './paystack.ts';
import { createGatewayRegistry, type GatewayRegistry } from './registry.ts';
import { createSandboxGateway } from './sandbox.ts';
import { createStripeGateway } from './stripe.ts';

export interface ConfiguredGateways {
  registry: GatewayRegistry;
  /** the sandbox instance in the registry (its bank page needs the sandbox-only methods), if enabled */
  sandbox: ReturnType<typeof createSandboxGateway> | null;
}

export function buildGateways(config: GatewaysConfig, deps: { prisma: Db; publicBaseUrl: string; clock?: () => Date }): ConfiguredGateways {
  const sandbox = config.sandbox
    ? createSandboxGateway({
        prisma: deps.prisma,
        publicBaseUrl: deps.publicBaseUrl,
        webhookSecret: config.sandbox.webhookSecret,
        latencyMs: config.sandbox.latencyMs,
        clock: deps.clock,
      })
    : null;
  const gateways: PaymentGateway[] = sandbox ? [sandbox] : [];
  if (config.paystack) {
    gateways.push(createPaystackGateway({ secretKey: config.paystack.secretKey, apiBase: config.paystack.apiBase }));
  }
  if (config.stripe) gateways.push(createStripeGateway(config.stripe));
  return { registry: createGatewayRegistry(gateways), sandbox };
}

export function buildGatewayRegistry(config: GatewaysConfig, deps: { prisma: Db; publicBaseUrl: string; clock?: () => Date }): GatewayRegistry {
  return buildGateways(config, deps).registry;
}
