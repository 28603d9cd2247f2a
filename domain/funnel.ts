/**
 * Funnels: an ordered set of offer steps. Each step says where the buyer goes after a yes
 * (`on_accept`), a "no thanks" (`on_decline`) and a refused card (`on_payment_declined`, which
 * defaults to `on_decline`), or `end`. Pure rules only: no I/O, so the API and tests share them.
 */
import { DomainError } from './errors.ts';
import { type EligibilityRules, type OfferWindow, type ParentForEligibility, assertOfferActive, assertOfferEligible, parseEligibility } from './eligibility.ts';

export const END = 'end';
export const DEFAULT_MAX_ACCEPTS = 3;

export interface FunnelStep {
  id: string;
  offer_id: string;
  on_accept: string;
  on_decline: string;
  on_payment_declined?: string;
  /** rules like an offer's: a step whose rules exclude the order is skipped */
  eligibility?: EligibilityRules;
}

export interface FunnelDefinition {
  name: string;
  entry: string;
  max_accepts: number;
  steps: FunnelStep[];
  starts_at: Date | null;
  ends_at: Date | null;
}

/** What validation and the next-step rules need to know of an offer. */
export interface FunnelOffer extends OfferWindow {
  id: string;
  currency: string;
  eligibility: EligibilityRules;
}

/** How a step ended for the buyer. */
export type StepOutcome = 'accepted' | 'declined' | 'payment_declined';

const STEP_ID = /^[A-Za-z0-9_-]{1,64}$/;

function invalid(message: string): never {
  throw new DomainError('invalid_funnel', message);
}

function targetOf(step: FunnelStep, outcome: StepOutcome): string {
  if (outcome === 'accepted') return step.on_accept;
  if (outcome === 'declined') return step.on_decline;
  return step.on_payment_declined ?? step.on_decline;
}

const OUTCOMES: StepOutcome[] = ['accepted', 'declined', 'payment_declined'];

/**
 * Refuses a funnel that cannot run, each with its own 422 code: `invalid_funnel` (duplicate or
 * badly named steps, an entry or a target that is no step, an empty or inverted date window),
 * `unknown_offer`, `funnel_cycle`, `unreachable_step`, `mixed_currencies`. Answers the funnel's
 * one currency.
 */
export function validateFunnel(funnel: FunnelDefinition, offers: ReadonlyMap<string, Pick<FunnelOffer, 'id' | 'currency'>>): { currency: string } {
  if (funnel.steps.length === 0) invalid('a funnel needs at least one step');
  if (!Number.isSafeInteger(funnel.max_accepts) || funnel.max_accepts < 1) invalid('max_accepts must be a whole number of at least 1');
  if (funnel.starts_at && funnel.ends_at && funnel.starts_at >= funnel.ends_at) invalid('starts_at must be before ends_at');
  const byId = new Map<string, FunnelStep>();
  for (const step of funnel.steps) {
    if (!STEP_ID.test(step.id) || step.id === END) invalid(`step id "${step.id}" must be 1-64 of A-Z a-z 0-9 _ - and not "${END}"`);
    if (byId.has(step.id)) invalid(`step id "${step.id}" is used twice`);
    byId.set(step.id, step);
    if (step.eligibility !== undefined) parseEligibility(step.eligibility);
  }
  if (!byId.has(funnel.entry)) invalid(`the entry "${funnel.entry}" is not a step`);
  for (const step of funnel.steps) {
    for (const outcome of OUTCOMES) {
      const target = targetOf(step, outcome);
      if (target !== END && !byId.has(target)) invalid(`step "${step.id}" goes to "${target}", which is no step`);
    }
  }
  for (const step of funnel.steps) {
    if (!offers.has(step.offer_id)) throw new DomainError('unknown_offer', `step "${step.id}" names offer "${step.offer_id}", which does not exist`);
  }

  // Depth-first from every step: a step met again on the current path closes a cycle.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') throw new DomainError('funnel_cycle', `the steps loop: ${[...path.slice(path.indexOf(id)), id].join(' -> ')}`);
    state.set(id, 'visiting');
    const step = byId.get(id)!;
    for (const outcome of OUTCOMES) {
      const target = targetOf(step, outcome);
      if (target !== END) visit(target, [...path, id]);
    }
    state.set(id, 'done');
  };
  for (const step of funnel.steps) visit(step.id, []);

  const reached = new Set<string>();
  const queue = [funnel.entry];
  while (queue.length > 0) {
    const id = queue.shift()!;
    if (reached.has(id)) continue;
    reached.add(id);
    for (const outcome of OUTCOMES) {
      const target = targetOf(byId.get(id)!, outcome);
      if (target !== END) queue.push(target);
    }
  }
  const unreachable = funnel.steps.filter((s) => !reached.has(s.id)).map((s) => s.id);
  if (unreachable.length > 0) throw new DomainError('unreachable_step', `no path from the entry reaches ${unreachable.map((id) => `"${id}"`).join(', ')}`);

  const currencies = new Set(funnel.steps.map((s) => offers.get(s.offer_id)!.currency));
  if (currencies.size > 1) throw new DomainError('mixed_currencies', `the steps' offers are in more than one currency: ${[...currencies].sort().join(', ')}`);
  return { currency: [...currencies][0]! };
}

export interface NextStepContext {
  now: Date;
  parent: ParentForEligibility;
  offers: ReadonlyMap<string, FunnelOffer>;
  /** accepts this parent has taken in this funnel, the one just answered included */
  acceptsSoFar: number;
  /** offers the parent can take no more (every max_per_order slot held) */
  taken?: ReadonlySet<string>;
}

/** The funnel runs now (start inclusive, end exclusive). */
export function funnelLive(funnel: Pick<FunnelDefinition, 'starts_at' | 'ends_at'>, now: Date): boolean {
  return !(funnel.starts_at && now < funnel.starts_at) && !(funnel.ends_at && now >= funnel.ends_at);
}

/** Whether the buyer can be shown this step now: its offer runs, and neither its rules nor the offer's exclude the order. */
export function stepOpen(step: FunnelStep, ctx: NextStepContext): boolean {
  const offer = ctx.offers.get(step.offer_id);
  if (!offer || ctx.taken?.has(offer.id)) return false;
  try {
    assertOfferActive(offer, ctx.now);
    assertOfferEligible(offer.eligibility, ctx.parent);
    if (step.eligibility) assertOfferEligible(step.eligibility, ctx.parent);
    return true;
  } catch (err) {
    if (err instanceof DomainError) return false;
    throw err;
  }
}

/**
 * The first step the buyer can be shown, starting at `target`: a step that is closed to this order
 * is skipped as if the buyer had said no to it (its `on_decline`). null: the funnel ends.
 */
export function resolveStep(funnel: FunnelDefinition, target: string, ctx: NextStepContext): FunnelStep | null {
  if (!funnelLive(funnel, ctx.now) || ctx.acceptsSoFar >= funnel.max_accepts) return null;
  const byId = new Map(funnel.steps.map((s) => [s.id, s]));
  // Validated funnels have no cycle; the bound keeps a stored one that somehow does from spinning.
  for (let hops = 0, id = target; hops <= funnel.steps.length && id !== END; hops++) {
    const step = byId.get(id);
    if (!step) return null;
    if (stepOpen(step, ctx)) return step;
    id = step.on_decline;
  }
  return null;
}

/** The funnel's first step for this order (the entry, or the first open one after it). */
export function entryStep(funnel: FunnelDefinition, ctx: NextStepContext): FunnelStep | null {
  return resolveStep(funnel, funnel.entry, ctx);
}

/**
 * The step after `from` ended with `outcome`; null at the end: a target of `end`, past
 * `max_accepts`, outside `starts_at`/`ends_at`, or no open step left on the path.
 */
export function nextStep(funnel: FunnelDefinition, from: string, outcome: StepOutcome, ctx: NextStepContext): FunnelStep | null {
  const step = funnel.steps.find((s) => s.id === from);
  if (!step) return null;
  return resolveStep(funnel, targetOf(step, outcome), ctx);
}
