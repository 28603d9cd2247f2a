import type { OrderStrategy, UpsellSettings } from './settings.ts';

export interface StrategyChoice {
  /** what the shop asked for (offer override, else the default setting) */
  strategy: OrderStrategy;
  /** what happens to this accept */
  orderKind: 'child' | 'merged';
  fellBackToChild: boolean;
}

/** Why a merge became a child order. */
export type FallBackReason = 'merge_cutoff_passed' | 'parent_not_paid';

export interface WriteDecision {
  orderKind: 'child' | 'merged';
  fellBackToChild: boolean;
  fellBackReason: FallBackReason | null;
}

function withinCutoff(cutoffMin: number, parentPaidAt: Date, now: Date): boolean {
  return now.getTime() - parentPaidAt.getTime() < cutoffMin * 60_000;
}

/**
 * Strategy A (child) makes a new order. Strategy B (merge) adds the upsell to the parent's lines,
 * but only while the parent was paid less than merge_cutoff_min ago; after that it falls back to A.
 * This is validation's forecast; decideOrderAtWrite makes the decision when the order is written.
 */
export function chooseOrderStrategy(
  settings: Pick<UpsellSettings, 'upsells.order_strategy_default' | 'upsells.merge_cutoff_min'>,
  offerOverride: string | null | undefined,
  parentPaidAt: Date,
  now: Date,
): StrategyChoice {
  const strategy: OrderStrategy = offerOverride === 'child' || offerOverride === 'merge' ? offerOverride : settings['upsells.order_strategy_default'];
  if (strategy === 'child') return { strategy, orderKind: 'child', fellBackToChild: false };
  return withinCutoff(settings['upsells.merge_cutoff_min'], parentPaidAt, now)
    ? { strategy, orderKind: 'merged', fellBackToChild: false }
    : { strategy, orderKind: 'child', fellBackToChild: true };
}

/**
 * Merge or child, decided when the order is written (the parent row locked), not when the accept
 * was validated: a 3-D Secure can finish many minutes later, and the shop may have refunded or
 * cancelled the parent meanwhile. Money the buyer agreed to and paid never joins an order that is
 * no longer paid: it becomes a child order of its own.
 */
export function decideOrderAtWrite(strategy: OrderStrategy, parent: { status: string; paidAt: Date | null }, cutoffMin: number, now: Date): WriteDecision {
  if (strategy === 'child') return { orderKind: 'child', fellBackToChild: false, fellBackReason: null };
  if (parent.status !== 'paid' || !parent.paidAt) return { orderKind: 'child', fellBackToChild: true, fellBackReason: 'parent_not_paid' };
  if (!withinCutoff(cutoffMin, parent.paidAt, now)) return { orderKind: 'child', fellBackToChild: true, fellBackReason: 'merge_cutoff_passed' };
  return { orderKind: 'merged', fellBackToChild: false, fellBackReason: null };
}
