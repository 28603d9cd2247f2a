/** Why an offer can or cannot be shown: one reason, as the shop's and the storefront's checks answer it. */
import { Type, type Static } from '@sinclair/typebox';

export const EligibilityReasonSchema = Type.Object(
  {
    code: Type.String({
      description:
        'parent_not_paid, offer_inactive, offer_ineligible, currency_mismatch, offer_already_accepted, gateway_unsupported, gateway_not_configured, payment_method_unusable, currency_unsupported; funnels add window_closed and funnel_cap_reached',
    }),
    message: Type.String(),
    rule: Type.Optional(Type.String({ description: 'offer_ineligible: the eligibility rule that excludes the order' })),
  },
  { title: 'EligibilityReason' },
);
export type EligibilityReasonBody = Static<typeof EligibilityReasonSchema>;
