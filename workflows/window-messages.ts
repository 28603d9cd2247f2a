/**
 * Everything callers share with the postPurchaseWindow workflow: its name, id, input and messages.
 * The API imports this module, never the workflow body.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const WINDOW_WORKFLOW_TYPE = 'postPurchaseWindow';
export {
  WINDOW_CLOSED_EVENT,
  windowWorkflowId,
  type WindowCloseReason,
  type WindowClosedData,
  type WindowEvent,
  type WindowInput,
  type WindowLiveState,
} from '../contract/window.ts';
import type { WindowEvent, WindowLiveState } from '../contract/window.ts';

/**
 * Asked by the API before it starts an accept for this parent: `open` registers the accept (the
 * window stays open until it has ended); `closed` means nothing more may be charged.
 */
export const acceptStartingUpdate = defineUpdate<'open' | 'closed', [{ key: string }]>('acceptStarting');
export const windowEventSignal = defineSignal<[WindowEvent]>('windowEvent');
export const windowStateQuery = defineQuery<WindowLiveState>('windowState');
