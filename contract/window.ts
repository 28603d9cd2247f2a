/**
 * The post-purchase window's shapes that cross processes: its id, input, the events the API tells
 * it, its live state, and the window_closed event's data.
 */

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

export interface WindowClosedData {
  parent_order: { id: string | null; external_id: string };
  reason: WindowCloseReason;
  accepted: Array<{ accept_id: string; offer_id: string; amount: { value: number; currency: string }; order: { id: string; external_id: string; kind: string } }>;
  declined: Array<{ decline_id: string; offer_id: string; step_id: string | null; declined_at: string }>;
  closed_at: string;
}
