/** The API's Temporal client. It speaks to acceptUpsell only through workflows/messages.ts (its handles) and the contract (the shapes). */
import { Client, Connection, WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { temporalConnectionOptions, type TemporalConfig } from '../config/env.ts';
import type { AcceptInput, AcceptReply, AcceptStatus, ScaCompletedSignal, ShownAccept } from '../contract/accept.ts';
import type { ReconcileInput } from '../contract/reconcile.ts';
import { ACCEPT_WORKFLOW_TYPE, FINGERPRINT_MISMATCH, acceptMemo, acceptUpdate, scaCompletedSignal, searchAttributes, statusQuery } from '../workflows/messages.ts';
import { RECONCILE_WORKFLOW_TYPE, reconcileWorkflowId } from '../workflows/reconcile-messages.ts';
import { createRefundFlows, type RefundFlows } from './refund-flows.ts';

/** The same connection settings (address, TLS or mTLS, API key) the worker uses. */
export async function connectClient(temporal: TemporalConfig): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(temporal));
  return new Client({ connection, namespace: temporal.namespace });
}

export type StartAcceptResult =
  | { kind: 'answered'; reply: AcceptReply }
  | { kind: 'fingerprint_mismatch' }
  /** the workflow for this key has already closed: answer from the database */
  | { kind: 'closed' }
  /** no answer within the wait; the workflow runs (checked) and goes on: the buyer polls its status */
  | { kind: 'processing' }
  /** no answer within the wait, and no run for this key is known to exist (none yet, or Temporal cannot say) */
  | { kind: 'not_started' };

/** The accept's calls, and the refund's (api/refund-flows.ts). */
export interface AcceptFlows extends RefundFlows {
  /** Waits at most `waitMs` for the workflow's answer, so no buyer's socket is held longer. */
  startOrJoin(input: AcceptInput, waitMs: number, shown: ShownAccept): Promise<StartAcceptResult>;
  status(acceptKey: string): Promise<AcceptStatus | null>;
  /** false when no running workflow has that id (finished, or never ours) */
  signalScaCompleted(acceptKey: string, signal: ScaCompletedSignal): Promise<boolean>;
  /**
   * Starts the reconciliation of a charge whose accept is no longer running; its ID comes from the
   * gateway and the charge, so a duplicate webhook starts nothing more. false: already started once.
   */
  reconcileCharge(input: ReconcileInput): Promise<boolean>;
  ping(): Promise<void>;
}

export function createAcceptFlows(client: Client, taskQueue: string): AcceptFlows {
  return {
    ...createRefundFlows(client, taskQueue),
    async startOrJoin(input, waitMs, shown) {
      // One round trip: start the workflow if needed and wait for its answer to the buyer.
      // Update ids are per call, so the workflow can tell a first call from its replays.
      const startWorkflowOperation = new WithStartWorkflowOperation(ACCEPT_WORKFLOW_TYPE, {
        workflowId: input.acceptKey,
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        // A closed accept is never run again under the same key.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        // Part of the start's own visibility record, so findable from the first moment at no extra
        // write; the memo saves the workflow an upsert (it checks the price against the plan's).
        typedSearchAttributes: [
          { key: searchAttributes.offerId, value: input.offerId },
          { key: searchAttributes.parentOrderId, value: shown.parentExternalId },
        ],
        ...(shown.price ? { memo: acceptMemo(shown.price) } : {}),
      });
      // The call can be abandoned (below): its abort signal ends the gRPC calls it is waiting on.
      const abandon = new AbortController();
      const call = client
        .withAbortSignal(abandon.signal, () =>
          client.workflow.executeUpdateWithStart(acceptUpdate, {
            updateId: randomUUID(),
            args: [{ fingerprint: input.fingerprint }],
            startWorkflowOperation,
          }),
        )
        .then(
          (reply): StartAcceptResult => ({ kind: 'answered', reply }),
          (err: unknown): StartAcceptResult => {
            if (err instanceof WorkflowUpdateFailedError && err.cause?.message === FINGERPRINT_MISMATCH) return { kind: 'fingerprint_mismatch' };
            if (err instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'closed' };
            if (isCompletedWorkflowError(err)) return { kind: 'closed' };
            throw err;
          },
        );
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise<'waited'>((resolve) => {
        timer = setTimeout(() => resolve('waited'), waitMs);
      });
      try {
        const first = await Promise.race([call, waited]);
        if (first !== 'waited') return first;
      } finally {
        clearTimeout(timer);
      }
      // No answer in time. "Processing" is said only about a run that exists, so the buyer's poll
      // finds it; the run goes on whatever happens to this call (it lives on the server, not in it).
      try {
        const described = await client.workflow.getHandle(input.acceptKey).describe();
        if (described.status.name !== 'RUNNING') return await call; // it just finished: its answer is there
        return { kind: 'processing' };
      } catch {
        // Not found, or Temporal cannot be asked: either way no run is known to us, and the buyer
        // may retry with the same key (it joins whatever did start, or reads its record).
        return { kind: 'not_started' };
      } finally {
        // Stop waiting on the update: an abandoned long poll would hold a connection stream for as
        // long as the run takes. Its rejection is expected and handled.
        abandon.abort();
        call.catch(() => undefined);
      }
    },

    async status(acceptKey) {
      try {
        return await client.workflow.getHandle(acceptKey).query(statusQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return null;
        throw err;
      }
    },

    async signalScaCompleted(acceptKey, signal) {
      try {
        await client.workflow.getHandle(acceptKey).signal(scaCompletedSignal, signal);
        return true;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      }
    },

    async reconcileCharge(input) {
      try {
        await client.workflow.start(RECONCILE_WORKFLOW_TYPE, {
          workflowId: reconcileWorkflowId(input.gateway, input.chargeRef),
          taskQueue,
          args: [input],
          // Once per charge, ever: a second run could only find the refund the first one made.
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
        return true;
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
        throw err;
      }
    },

    async ping() {
      await client.workflowService.getSystemInfo({});
    },
  };
}

/** The failure type the server gives an accepted update whose run closed before the handler answered. */
const UPDATE_OUTLIVED_BY_RUN = 'AcceptedUpdateCompletedWorkflow';

/**
 * The run for this key had already closed, told by the error's type, never its wording: the update
 * reached a closed run (the server answers NOT_FOUND "workflow execution already completed", which
 * the client raises as WorkflowNotFoundError; with a start in the same call, nothing else is "not
 * found"), or the run closed while the update waited (the server fails the update as above).
 */
function isCompletedWorkflowError(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  return err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === UPDATE_OUTLIVED_BY_RUN;
}
