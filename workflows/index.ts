export { acceptUpsell } from './acceptUpsell.ts';
export { reconcileCharge } from './reconcileCharge.ts';
export { refundUpsell } from './refundUpsell.ts';
