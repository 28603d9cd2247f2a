/** The API's side of refundUpsell: start (or join) the refund for a key and wait for its answer. */
import { type Client, WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { REFUND_FINGERPRINT_MISMATCH, REFUND_WORKFLOW_TYPE, type RefundInput, type RefundReply, refundUpdate, refundWorkflowId } from '../workflows/refund-messages.ts';

export type StartRefundResult =
  | { kind: 'answered'; reply: RefundReply }
  | { kind: 'fingerprint_mismatch' }
  /** the run closed before it answered this call: its answer is on the refund record */
  | { kind: 'closed' }
  /** no answer within the wait: the refund goes on (or never started); the same key asks again */
  | { kind: 'no_answer' };

export interface RefundFlows {
  /** Waits at most `waitMs` for the refund's answer. */
  refund(input: RefundInput, waitMs: number): Promise<StartRefundResult>;
}

export function createRefundFlows(client: Client, taskQueue: string): RefundFlows {
  return {
    async refund(input, waitMs) {
      const startWorkflowOperation = new WithStartWorkflowOperation(REFUND_WORKFLOW_TYPE, {
        workflowId: refundWorkflowId(input.acceptId, input.idempotencyKey),
        taskQueue,
        args: [input],
        // Concurrent calls with the key join one run. A closed run may be started again: a new run
        // finds the first one's recorded answer (a replay), and a refusal changed nothing.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
      const abandon = new AbortController();
      const call = client
        .withAbortSignal(abandon.signal, () =>
          client.workflow.executeUpdateWithStart(refundUpdate, { updateId: randomUUID(), args: [{ fingerprint: input.fingerprint }], startWorkflowOperation }),
        )
        .then(
          (reply): StartRefundResult => ({ kind: 'answered', reply }),
          (err: unknown): StartRefundResult => {
            if (err instanceof WorkflowUpdateFailedError && err.cause?.message === REFUND_FINGERPRINT_MISMATCH) return { kind: 'fingerprint_mismatch' };
            if (/already completed|completed before the update/i.test((err as Error)?.message ?? '')) return { kind: 'closed' };
            throw err;
          },
        );
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<StartRefundResult>((resolve) => {
        timer = setTimeout(() => resolve({ kind: 'no_answer' }), waitMs);
      });
      try {
        return await Promise.race([call, waited]);
      } finally {
        clearTimeout(timer);
        abandon.abort();
        call.catch(() => undefined);
      }
    },
  };
}
