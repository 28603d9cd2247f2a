/**
 * Everything callers share with the postPurchaseWindow workflow: its name, id, input and messages.
 * The API imports this module, never the workflow body.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const WINDOW_WORKFLOW_TYPE = 'postPurchaseWindow';
export const WINDOW_CLOSED_EVENT = 'ocart/upsell/window_closed';

/** One window per parent order, named after the shop's id for it. */
export function windowWorkflowId(parentExternalId: string): string {
  return `window:${parentExternalId}`;
}

export interface WindowInput {
  parentExternalId: string;
  /** when the timer closes the window (ISO 8601) */
  closesAt: string;
}

export type WindowCloseReason = 'funnel_ended' | 'timer';

/** What the API tells the window: an accept answered, an SCA wait, a decline, the funnel's end. */
export interface WindowEvent {
  kind: 'accept_answered' | 'sca_waiting' | 'declined' | 'funnel_ended';
  /** the accept's (or decline's) idempotency key */
  key?: string;
  /** the answer's status, for accept_answered */
  outcome?: string;
}

export interface WindowLiveState {
  status: 'open' | 'closing' | 'closed';
  closesAt: string;
  /** accepts still charging or waiting for SCA: the window waits for them */
  inFlight: string[];
  reason: WindowCloseReason | null;
}

/**
 * Asked by the API before it starts an accept for this parent: `open` registers the accept (the
 * window stays open until it has ended); `closed` means nothing more may be charged.
 */
export const acceptStartingUpdate = defineUpdate<'open' | 'closed', [{ key: string }]>('acceptStarting');
export const windowEventSignal = defineSignal<[WindowEvent]>('windowEvent');
export const windowStateQuery = defineQuery<WindowLiveState>('windowState');
