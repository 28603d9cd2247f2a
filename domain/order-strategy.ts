import type { OrderStrategy, UpsellSettings } from './settings.ts';

export interface StrategyChoice {
  /** what the shop asked for (offer override, else the default setting) */
  strategy: OrderStrategy;
  /** what happens to this accept */
  orderKind: 'child' | 'merged';
  fellBackToChild: boolean;
}

/**
 * Strategy A (child) makes a new order. Strategy B (merge) adds the upsell to the parent's lines,
 * but only while the parent was paid less than merge_cutoff_min ago; after that it falls back to A.
 */
export function chooseOrderStrategy(
  settings: Pick<UpsellSettings, 'upsells.order_strategy_default' | 'upsells.merge_cutoff_min'>,
  offerOverride: string | null | undefined,
  parentPaidAt: Date,
  now: Date,
): StrategyChoice {
  const strategy: OrderStrategy =
    offerOverride === 'child' || offerOverride === 'merge' ? offerOverride : settings['upsells.order_strategy_default'];
  if (strategy === 'child') return { strategy, orderKind: 'child', fellBackToChild: false };
  const withinCutoff = now.getTime() - parentPaidAt.getTime() < settings['upsells.merge_cutoff_min'] * 60_000;
  return withinCutoff
    ? { strategy, orderKind: 'merged', fellBackToChild: false }
    : { strategy, orderKind: 'child', fellBackToChild: true };
}
