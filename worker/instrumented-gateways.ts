/**
 * Times every call the activities make into a gateway adapter, without the adapters knowing:
 * the registry hands out wrapped gateways whose calls report to WorkerMetrics and then return
 * (or throw) exactly what the adapter did.
 */
import { GatewayDeclineError, GatewayRefusedError, GatewayTransientError, type PaymentGateway } from '../gateways/gateway.ts';
import type { GatewayRegistry } from '../gateways/registry.ts';
import type { GatewayCallOutcome, WorkerMetrics } from './metrics.ts';

/** The adapter calls that reach the gateway's API; parseWebhook is local and runs in the API. */
const TIMED_OPERATIONS = new Set(['checkPaymentMethod', 'chargeOffSession', 'confirmCharge', 'cancelCharge', 'refund', 'findCharge']);

function resultOutcome(result: unknown): GatewayCallOutcome {
  if (result === null) return 'not_found';
  const status = result && typeof result === 'object' ? (result as { status?: unknown }).status : undefined;
  return status === 'succeeded' || status === 'requires_action' || status === 'declined' ? status : 'ok';
}

function errorOutcome(err: unknown): GatewayCallOutcome {
  if (err instanceof GatewayDeclineError) return 'declined';
  if (err instanceof GatewayRefusedError) return 'refused';
  if (err instanceof GatewayTransientError) return 'transient';
  return 'error';
}

function instrumentGateway(gateway: PaymentGateway, metrics: WorkerMetrics): PaymentGateway {
  return new Proxy(gateway, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !TIMED_OPERATIONS.has(property) || typeof value !== 'function') return value;
      const call = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]) => {
        const started = process.hrtime.bigint();
        const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
        try {
          const result = await call.apply(target, args);
          metrics.observeGatewayCall(target.name, property, resultOutcome(result), seconds());
          return result;
        } catch (err) {
          metrics.observeGatewayCall(target.name, property, errorOutcome(err), seconds());
          throw err;
        }
      };
    },
  });
}

export function instrumentGateways(registry: GatewayRegistry, metrics: WorkerMetrics): GatewayRegistry {
  const wrapped = new WeakMap<PaymentGateway, PaymentGateway>();
  const wrap = (gateway: PaymentGateway): PaymentGateway => {
    let w = wrapped.get(gateway);
    if (!w) {
      w = instrumentGateway(gateway, metrics);
      wrapped.set(gateway, w);
    }
    return w;
  };
  return {
    ...registry,
    byName: (name) => wrap(registry.byName(name)),
    forOrder: (order) => wrap(registry.forOrder(order)),
  };
}
