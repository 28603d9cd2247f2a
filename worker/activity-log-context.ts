/**
 * Activity interceptor: labels every activity log line (activity `log`, and the SDK's own
 * "Activity failed" lines) with the offer and the parent order the activity works on. The
 * workflow id, which is the accept's key, is already on every line.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/** The accept fields in an activity's first argument (AcceptInput or AcceptPlan), as log labels. */
export function acceptLabels(args: readonly unknown[]): Record<string, string> {
  const first = args[0];
  if (!first || typeof first !== 'object') return {};
  const { offerId, parentExternalId } = first as { offerId?: unknown; parentExternalId?: unknown };
  return {
    ...(typeof offerId === 'string' ? { offer_id: offerId } : {}),
    ...(typeof parentExternalId === 'string' ? { parent_order_id: parentExternalId } : {}),
  };
}

export const activityLogContext: ActivityInterceptorsFactory = () => {
  let labels: Record<string, string> = {};
  return {
    inbound: {
      async execute(input, next) {
        labels = acceptLabels(input.args);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(attributes, next) {
        return next({ ...attributes, ...labels });
      },
    },
  };
};
