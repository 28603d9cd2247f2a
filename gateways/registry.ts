import { DomainError } from '../domain/errors.ts';
import { GatewayRefusedError, type PaymentGateway } from './gateway.ts';

/** Gateways we know of; a known one without configuration is refused clearly, not crashed on. */
export const KNOWN_GATEWAYS = ['sandbox', 'stripe', 'paystack'] as const;

export interface GatewayRegistry {
  byName(name: string): PaymentGateway;
  /** The adapter for a parent order, picked by the gateway that took its payment. */
  forOrder(order: { savedPaymentMethod: { gateway: string } | null }): PaymentGateway;
  has(name: string): boolean;
}

export function createGatewayRegistry(gateways: readonly PaymentGateway[]): GatewayRegistry {
  const byName = new Map(gateways.map((g) => [g.name, g]));
  const lookup = (name: string): PaymentGateway => {
    const found = byName.get(name);
    if (found) return found;
    if ((KNOWN_GATEWAYS as readonly string[]).includes(name)) {
      throw new GatewayRefusedError('gateway_not_configured', `the ${name} gateway is not configured on this service`);
    }
    throw new DomainError('gateway_unsupported', `orders paid through "${name}" cannot take one-click upsells`);
  };
  return {
    byName: lookup,
    forOrder(order) {
      if (!order.savedPaymentMethod) throw new DomainError('payment_method_unusable', 'the parent order has no saved payment method');
      return lookup(order.savedPaymentMethod.gateway);
    },
    has: (name) => byName.has(name),
  };
}
