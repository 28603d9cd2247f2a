/**
 * Workflow interceptor module (bundled with the workflows, so workflow-safe imports only):
 * labels every workflow log line with the offer and parent order, read from the search
 * attributes the workflow keeps up to date.
 */
import { workflowInfo, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { searchAttributes } from '../workflows/messages.ts';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      getLogAttributes(attributes, next) {
        const found = workflowInfo().typedSearchAttributes;
        const offer = found.get(searchAttributes.offerId);
        const parent = found.get(searchAttributes.parentOrderId);
        return next({ ...attributes, ...(offer ? { offer_id: offer } : {}), ...(parent ? { parent_order_id: parent } : {}) });
      },
    },
  ],
});
