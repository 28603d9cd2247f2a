export { acceptUpsell } from './acceptUpsell.ts';
