/**
 * What a buyer reads, per code: our words, never a gateway's. A gateway's own message can quote our
 * configuration back ("Invalid API Key provided: sk_live_...") or say more about the card than the
 * buyer's page should; it goes to the logs (redacted) and the code goes to the buyer. Declines keep
 * their code; a decline code not listed here reads as a plain decline.
 */
const MESSAGES: Record<string, string> = {
  card_declined: 'The card was declined.',
  insufficient_funds: 'The card has insufficient funds.',
  expired_card: 'The card has expired.',
  incorrect_cvc: 'The card was declined.',
  authentication_failed: 'The bank could not confirm that the buyer authorised this payment.',
  authentication_required: 'The bank wants the buyer to confirm this payment.',
  canceled: 'The payment was cancelled; nothing was charged.',
  charge_reversed: 'The payment was refunded.',
  payment_method_unusable: 'The saved payment method cannot be charged for this offer.',
  currency_unsupported: 'This offer cannot be paid in its currency with the saved payment method; nothing was charged.',
  gateway_error: 'The payment could not be completed; nothing was kept. Please try again later.',
  gateway_not_configured: 'Payments are not available right now; nothing was charged.',
  internal_error: 'Something went wrong on our side; nothing was kept.',
};

const DECLINED = MESSAGES.card_declined!;

/** Our message for a code. Unknown codes from a gateway's decline read as a plain decline. */
export function buyerMessage(code: string): string {
  return Object.hasOwn(MESSAGES, code) ? MESSAGES[code]! : DECLINED;
}
