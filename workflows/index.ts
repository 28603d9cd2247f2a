export { acceptUpsell } from './acceptUpsell.ts';
export { postPurchaseWindow } from './postPurchaseWindow.ts';
export { reconcileCharge } from './reconcileCharge.ts';
export { refundUpsell } from './refundUpsell.ts';
