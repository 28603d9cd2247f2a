/** Builds the registry from configuration: only configured gateways are present. */
import type { GatewaysConfig } from '../../config/env.ts';
import type { Db } from '../../db/client.ts';
import type { PaymentGateway } from './gateway.ts';
import { createPaystackGateway } from './paystack.ts';
import { createGatewayRegistry, type GatewayRegistry } from './registry.ts';
import { createSandboxGateway } from './sandbox.ts';
import { createStripeGateway } from './stripe.ts';

export function buildGatewayRegistry(config: GatewaysConfig, deps: { prisma: Db; publicBaseUrl: string }): GatewayRegistry {
  const gateways: PaymentGateway[] = [];
  if (config.sandbox) {
    gateways.push(
      createSandboxGateway({ prisma: deps.prisma, publicBaseUrl: deps.publicBaseUrl, webhookSecret: config.sandbox.webhookSecret, latencyMs: config.sandbox.latencyMs }),
    );
  }
  if (config.paystack) {
    gateways.push(createPaystackGateway({ secretKey: config.paystack.secretKey, apiBase: config.paystack.apiBase }));
  }
  if (config.stripe) gateways.push(createStripeGateway(config.stripe));
  return createGatewayRegistry(gateways);
}
