/** The API's Temporal client. It speaks to acceptUpsell only through workflows/messages.ts. */
import { Client, Connection, WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { temporalConnectionOptions, type TemporalConfig } from '../config/env.ts';
import {
  ACCEPT_WORKFLOW_TYPE,
  type AcceptInput,
  type AcceptReply,
  type AcceptStatus,
  FINGERPRINT_MISMATCH,
  type ScaCompletedSignal,
  acceptUpdate,
  scaCompletedSignal,
  searchAttributes,
  statusQuery,
} from '../workflows/messages.ts';
import { RECONCILE_WORKFLOW_TYPE, type ReconcileInput, reconcileWorkflowId } from '../workflows/reconcile-messages.ts';

/** The same connection settings (address, TLS or mTLS, API key) the worker uses. */
export async function connectClient(temporal: TemporalConfig): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(temporal));
  return new Client({ connection, namespace: temporal.namespace });
}

export type StartAcceptResult =
  | { kind: 'answered'; reply: AcceptReply }
  | { kind: 'fingerprint_mismatch' }
  /** the workflow for this key has already closed: answer from the database */
  | { kind: 'closed' };

export interface AcceptFlows {
  startOrJoin(input: AcceptInput): Promise<StartAcceptResult>;
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
    async startOrJoin(input) {
      // One round trip: start the workflow if needed and wait for its answer to the buyer.
      // Update ids are per call, so the workflow can tell a first call from its replays.
      const startWorkflowOperation = new WithStartWorkflowOperation(ACCEPT_WORKFLOW_TYPE, {
        workflowId: input.acceptKey,
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        // A closed accept is never run again under the same key.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [{ key: searchAttributes.offerId, value: input.offerId }],
      });
      try {
        const reply = await client.workflow.executeUpdateWithStart(acceptUpdate, {
          updateId: randomUUID(),
          args: [{ fingerprint: input.fingerprint }],
          startWorkflowOperation,
        });
        return { kind: 'answered', reply };
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError && err.cause?.message === FINGERPRINT_MISMATCH) return { kind: 'fingerprint_mismatch' };
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'closed' };
        if (isCompletedWorkflowError(err)) return { kind: 'closed' };
        throw err;
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

function isCompletedWorkflowError(err: unknown): boolean {
  const message = (err as Error)?.message ?? '';
  // Includes "Workflow completed before the Update completed" (the run ended while the update waited).
  return /already completed|completed before the update/i.test(message);
}
