/** Types for api/public/upsells.js, checked by tsconfig.browser.json (the script itself has no build step). */

interface OCartMoney {
  value: number;
  currency: string;
}

interface OCartAction {
  type?: string;
  gateway?: string;
  redirect_url?: string;
  client_secret?: string;
}

/** An accept or status answer, or an error the script made up for the buyer's page. */
interface OCartAcceptBody {
  status: string;
  code?: string;
  message?: string;
  accept_id?: string;
  amount?: OCartMoney;
  order?: { id?: string; external_id?: string };
  action?: OCartAction;
  offer_id?: string;
  /** A funnel step's answer: the next step to show in place, or null at the funnel's end. */
  next?: OCartNext | null;
}

/** The funnel's next step, as an accept or decline answer carries it (a fresh token minted for it). */
interface OCartNext {
  step_id: string;
  offer_id: string;
  name: string;
  amount: OCartMoney;
  token: string;
}

/** What the script keeps in sessionStorage per offer: its one idempotency key and where it stands. */
interface OCartEntry {
  key: string;
  token: string;
  phase: 'ready' | 'sent' | 'action' | 'final' | 'error';
  response?: OCartAcceptBody | null;
  updated_at?: number;
  /** The "No thanks" call's own idempotency key, made on the first click and reused by every retry. */
  declineKey?: string;
  /** True once the buyer said no: a retry or a reload sends the decline again, never an accept. */
  declining?: boolean;
}

/** The part of Stripe.js the script uses. */
interface OCartStripe {
  confirmCardPayment(clientSecret: string): Promise<{ error?: { message?: string } } | undefined>;
}

interface OCartMountOptions {
  stripe?: OCartStripe;
}

interface OCartUpsellsApi {
  version: string;
  init(scope?: ParentNode, options?: OCartMountOptions): void;
  mount(root: HTMLElement, options?: OCartMountOptions): unknown;
  formatMoney(amount: OCartMoney | null | undefined, locale?: string): string;
}

interface Window {
  OCartUpsells?: OCartUpsellsApi;
  Stripe?: (publishableKey: string) => OCartStripe;
}

interface HTMLElement {
  /** The Upsell mounted on this container, so mounting twice is a no-op. */
  __ocartUpsell?: unknown;
}
