/**
 * Gathers the facts domain/eligibility-report.ts decides on, for the "which offers can this order
 * take, and why not" route and the mint route's `require_eligible`: the parent order, the offers,
 * the slots accepts hold, the gateway registry's view of the parent's gateway, and a live check of
 * the saved method at the gateway, cached for a minute in a bounded map (a page of offers at the same
 * price asks the gateway once).
 */
import { MalformedRecordError } from '../contract/records.ts';
import type { Db } from '../db/client.ts';
import { claimsHeldByOffer } from '../db/offer-claims.ts';
import { activeOffers, findOffer, type OfferRow } from '../db/offers.ts';
import { countFunnelAccepts, findWindow, funnelDefinition, listFunnels } from '../db/funnels.ts';
import { findParentOrder, type ParentRow } from '../db/orders.ts';
import { funnelLive } from '../domain/funnel.ts';
import { parseEligibility } from '../domain/eligibility.ts';
import { DomainError } from '../domain/errors.ts';
import { type EligibilityFacts, type EligibilityReason, eligibilityReasons, failingRules, type MethodFact } from '../domain/eligibility-report.ts';
import { GatewayCurrencyError, GatewayDeclineError, GatewayRefusedError, type PaymentGateway } from '../gateways/gateway.ts';
import type { GatewayRegistry } from '../gateways/registry.ts';

export const METHOD_CHECK_TTL_MS = 60_000;
export const METHOD_CHECK_CACHE_MAX = 1_000;

/** One funnel step as the listing shows it, with the reasons the funnel adds to its offer's own. */
export interface FunnelStepFacts {
  funnelId: string;
  stepId: string;
  offerId: string;
  /** met at the accept's door, before the offer's rules (window_closed) */
  door: EligibilityReason[];
  /** after the offer's own reasons (a step's own conditions, funnel_cap_reached) */
  reasons: EligibilityReason[];
}

/**
 * Funnel rules plug in here: given the parent, every step of every live funnel, each with the
 * reasons the funnel adds (window_closed, funnel_cap_reached, a step's own conditions). Without
 * one, only standalone offers are listed.
 */
export type FunnelRules = (parent: ParentRow, now: Date) => Promise<FunnelStepFacts[]>;

/** The parent order as the eligibility rules read it. */
function parentFacts(parent: ParentRow): EligibilityFacts['parent'] {
  return { status: parent.status, paidAt: parent.paid_at, currency: parent.currency, totalAmount: parent.total_amount, productIds: parent.product_ids };
}

/** The funnel rules read from the database: the parent's window, its accepts in each funnel, each step's conditions. */
export function funnelRulesFrom(prisma: Db, log?: (msg: string, err: unknown) => void): FunnelRules {
  return async (parent, now) => {
    // One funnel whose stored steps no longer parse is left out (and logged), not the whole listing.
    const funnels = (await listFunnels(prisma))
      .flatMap((row) => {
        try {
          return [{ id: row.id, def: funnelDefinition(row) }];
        } catch (err) {
          if (!(err instanceof MalformedRecordError)) throw err;
          log?.(`funnel ${row.id} left out of the eligibility listing: its stored steps do not parse`, err);
          return [];
        }
      })
      .filter((f) => funnelLive(f.def, now));
    if (funnels.length === 0) return [];
    const window = await findWindow(prisma, parent.external_id);
    const door: EligibilityReason[] = window?.status === 'closed' ? [{ code: 'window_closed', message: "this order's upsell window has closed" }] : [];
    const facts: FunnelStepFacts[] = [];
    for (const { id, def } of funnels) {
      const accepted = await countFunnelAccepts(prisma, id, parent.external_id);
      const cap: EligibilityReason[] =
        accepted >= def.max_accepts ? [{ code: 'funnel_cap_reached', message: `this order has taken ${accepted} of the funnel's ${def.max_accepts} accepts` }] : [];
      for (const step of def.steps) {
        const own = failingRules(step.eligibility ?? {}, parentFacts(parent));
        facts.push({ funnelId: id, stepId: step.id, offerId: step.offer_id, door, reasons: [...own, ...cap] });
      }
    }
    return facts;
  };
}

export interface OfferEligibility {
  offer_id: string;
  funnel_id?: string;
  step_id?: string;
  eligible: boolean;
  reasons: EligibilityReason[];
}

/** A small TTL cache with a size bound: the oldest entry goes first when it is full. */
export class BoundedTtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}
  get(key: string, now: number): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }
  set(key: string, value: V, now: number): void {
    this.entries.delete(key);
    while (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until: now + this.ttlMs });
  }
  delete(key: string): void {
    this.entries.delete(key);
  }
  get size(): number {
    return this.entries.size;
  }
}

export function createEligibilityChecker(deps: { prisma: Db; gateways: GatewayRegistry; clock: () => Date; funnelRules?: FunnelRules; log?: (msg: string, err: unknown) => void }) {
  const { prisma, gateways, clock } = deps;
  const methodChecks = new BoundedTtlCache<Promise<MethodFact>>(METHOD_CHECK_CACHE_MAX, METHOD_CHECK_TTL_MS);

  function resolveGateway(parent: ParentRow): { state: 'ok'; gateway: PaymentGateway } | { state: 'unsupported' | 'not_configured' | 'none' } {
    if (!parent.gateway || !parent.method_ref) return { state: 'none' };
    try {
      return { state: 'ok', gateway: gateways.forOrder({ savedPaymentMethod: { gateway: parent.gateway } }) };
    } catch (err) {
      if (err instanceof GatewayRefusedError && err.code === 'gateway_not_configured') return { state: 'not_configured' };
      if (err instanceof DomainError && err.code === 'gateway_unsupported') return { state: 'unsupported' };
      throw err;
    }
  }

  /**
   * The gateway's word on the saved method for this amount: live, or from the last minute. The
   * promise is cached, so offers at one price on one page share one question to the gateway.
   */
  function checkMethod(gateway: PaymentGateway, parent: ParentRow, amount: number, currency: string): Promise<MethodFact> {
    const key = JSON.stringify([gateway.name, parent.customer_ref, parent.method_ref, parent.customer_email, amount, currency]);
    const now = clock().getTime();
    const cached = methodChecks.get(key, now);
    if (cached) return cached;
    const asked = askGateway(gateway, parent, amount, currency);
    methodChecks.set(key, asked, now);
    // No answer says nothing about the method: not kept, the next listing asks again.
    void asked.then((fact) => {
      if (fact.state === 'unknown' && methodChecks.get(key, clock().getTime()) === asked) methodChecks.delete(key);
    });
    return asked;
  }

  async function askGateway(gateway: PaymentGateway, parent: ParentRow, amount: number, currency: string): Promise<MethodFact> {
    try {
      await gateway.checkPaymentMethod({ customerRef: parent.customer_ref, methodRef: parent.method_ref!, email: parent.customer_email, amount, currency });
      return { state: 'usable' };
    } catch (err) {
      if (err instanceof GatewayDeclineError) return { state: 'unusable', code: err.code };
      if (err instanceof GatewayCurrencyError) return { state: 'currency_unsupported' };
      // No answer now (network, 5xx, a refused request).
      deps.log?.('payment method check failed', err);
      return { state: 'unknown' };
    }
  }

  /** An offer's entry for this parent: standalone, or as a funnel step with the funnel's reasons around its own. */
  async function entryFor(
    parent: ParentRow,
    offer: OfferRow,
    now: Date,
    claims: ReadonlyMap<string, number>,
    gateway: ReturnType<typeof resolveGateway>,
    step?: FunnelStepFacts,
  ): Promise<OfferEligibility> {
    const method: MethodFact =
      gateway.state === 'ok' ? await checkMethod(gateway.gateway, parent, offer.amount, offer.currency) : gateway.state === 'none' ? { state: 'missing' } : { state: 'unknown' };
    const reasons = eligibilityReasons({
      now,
      offer: {
        active: offer.active,
        startsAt: offer.starts_at,
        endsAt: offer.ends_at,
        currency: offer.currency,
        rules: parseEligibility(offer.eligibility),
        maxPerOrder: offer.max_per_order,
      },
      parent: parentFacts(parent),
      claimsHeld: claims.get(offer.id) ?? 0,
      gateway: gateway.state,
      gatewayName: parent.gateway,
      method,
      more: step?.reasons ?? [],
    });
    const all = [...(step?.door ?? []), ...reasons];
    return {
      offer_id: offer.id,
      ...(step ? { funnel_id: step.funnelId, step_id: step.stepId } : {}),
      eligible: all.length === 0,
      reasons: all,
    };
  }

  /** Each offer standalone, then (funnel rules given) every step of every live funnel. */
  async function reportFor(parent: ParentRow, offers: OfferRow[], withFunnels: boolean): Promise<OfferEligibility[]> {
    const now = clock();
    const claims = await claimsHeldByOffer(prisma, parent.id);
    const gateway = resolveGateway(parent);
    const steps = withFunnels && deps.funnelRules ? await deps.funnelRules(parent, now) : [];
    const byId = new Map(offers.map((o) => [o.id, o]));
    for (const step of steps) {
      if (!byId.has(step.offerId)) {
        const offer = await findOffer(prisma, step.offerId);
        if (offer) byId.set(offer.id, offer);
      }
    }
    return Promise.all([
      ...offers.map((offer) => entryFor(parent, offer, now, claims, gateway)),
      ...steps.flatMap((step) => {
        const offer = byId.get(step.offerId);
        return offer ? [entryFor(parent, offer, now, claims, gateway, step)] : [];
      }),
    ]);
  }

  return {
    /**
     * A parent order (by the shop's id), every active offer and every step of every live funnel,
     * each with its reasons; order_not_found for no such parent.
     */
    async forOrder(externalId: string): Promise<OfferEligibility[]> {
      const parent = await findParentOrder(prisma, externalId);
      if (!parent || parent.kind !== 'parent') throw new DomainError('order_not_found', 'no such order');
      return reportFor(parent, await activeOffers(prisma), true);
    },
    /** One offer for one parent order (the mint route's up-front refusal). */
    async forOffer(externalId: string, offerId: string): Promise<OfferEligibility | null> {
      const parent = await findParentOrder(prisma, externalId);
      if (!parent || parent.kind !== 'parent') return null;
      const offer = await findOffer(prisma, offerId);
      return offer ? (await reportFor(parent, [offer], false))[0]! : null;
    },
    /** For tests and metrics: how many method checks are cached. */
    cachedMethodChecks: () => methodChecks.size,
  };
}

export type EligibilityChecker = ReturnType<typeof createEligibilityChecker>;

/** One checker (one cache) per gateway registry, shared by the routes of an app. */
const checkers = new WeakMap<GatewayRegistry, EligibilityChecker>();
export function eligibilityCheckerFor(deps: { prisma: Db; gateways: GatewayRegistry; clock: () => Date; log?: (msg: string, err: unknown) => void }): EligibilityChecker {
  let checker = checkers.get(deps.gateways);
  if (!checker) {
    checker = createEligibilityChecker({ ...deps, funnelRules: funnelRulesFrom(deps.prisma, deps.log) });
    checkers.set(deps.gateways, checker);
  }
  return checker;
}

/**
 * The mint route's `require_eligible`: null when the offer can be accepted for this order, else the
 * 422 body, the first reason's code (what the accept would be refused with) and every reason.
 */
export async function mintRefusal(
  checker: EligibilityChecker,
  orderExternalId: string,
  offerId: string,
): Promise<{ status: 'rejected'; code: string; message: string; reasons: EligibilityReason[] } | null> {
  const result = await checker.forOffer(orderExternalId, offerId);
  const first = result?.reasons[0];
  return first ? { status: 'rejected', code: first.code, message: first.message, reasons: result.reasons } : null;
}
