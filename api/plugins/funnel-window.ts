/** The API's side of the postPurchaseWindow workflow: start it, register accepts, tell it what happened. */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { searchAttributes } from '../../workflows/messages.ts';
import {
  WINDOW_WORKFLOW_TYPE,
  type WindowEvent,
  type WindowLiveState,
  acceptStartingUpdate,
  windowEventSignal,
  windowStateQuery,
  windowWorkflowId,
} from '../../workflows/window-messages.ts';

export interface WindowFlows {
  /** Starts the parent's window if it is not running (a closed one is never started again). */
  open(parentExternalId: string, closesAt: Date): Promise<void>;
  /**
   * Registers an accept about to start: `closed` means it must not; `none`: no window runs.
   * Without an answer within `waitMs` (no worker, Temporal unreachable): `unknown`.
   */
  acceptStarting(parentExternalId: string, acceptKey: string, waitMs: number): Promise<'open' | 'closed' | 'none' | 'unknown'>;
  /** Best effort: the window also asks the database before it closes. */
  signal(parentExternalId: string, event: WindowEvent): Promise<void>;
  state(parentExternalId: string): Promise<WindowLiveState | null>;
}

function completed(err: unknown): boolean {
  const message = (err as Error)?.message ?? '';
  return err instanceof WorkflowNotFoundError || /already completed|completed before the update|not found/i.test(message);
}

export function createWindowFlows(client: Client, taskQueue: string): WindowFlows {
  return {
    async open(parentExternalId, closesAt) {
      try {
        await client.workflow.start(WINDOW_WORKFLOW_TYPE, {
          workflowId: windowWorkflowId(parentExternalId),
          taskQueue,
          args: [{ parentExternalId, closesAt: closesAt.toISOString() }],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: [
            { key: searchAttributes.parentOrderId, value: parentExternalId },
            { key: searchAttributes.upsellOutcome, value: 'window_open' },
          ],
        });
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return;
        throw err;
      }
    },
    async acceptStarting(parentExternalId, acceptKey, waitMs) {
      const abandon = new AbortController();
      const timer = setTimeout(() => abandon.abort(), waitMs);
      try {
        return await client.withAbortSignal(abandon.signal, () =>
          client.workflow.getHandle(windowWorkflowId(parentExternalId)).executeUpdate(acceptStartingUpdate, { args: [{ key: acceptKey }], updateId: randomUUID() }),
        );
      } catch (err) {
        if (abandon.signal.aborted) return 'unknown';
        if (completed(err)) return 'none';
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
    async signal(parentExternalId, event) {
      try {
        await client.workflow.getHandle(windowWorkflowId(parentExternalId)).signal(windowEventSignal, event);
      } catch (err) {
        if (!completed(err)) throw err;
      }
    },
    async state(parentExternalId) {
      try {
        return await client.workflow.getHandle(windowWorkflowId(parentExternalId)).query(windowStateQuery);
      } catch (err) {
        if (completed(err)) return null;
        throw err;
      }
    },
  };
}
