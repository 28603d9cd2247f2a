import { Prisma } from './client.ts';
import type { AcceptState } from '../workflows/messages.ts';

const ACCEPT_STATUSES = new Set(['succeeded', 'requires_action', 'declined', 'rejected', 'error', 'expired', 'processing']);

/** Reads an accept body back from a Json column, checking its shape rather than trusting it. */
function isAcceptState(value: unknown): value is AcceptState {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const { status, accept_id } = value as Record<string, unknown>;
  return typeof status === 'string' && ACCEPT_STATUSES.has(status) && typeof accept_id === 'string';
}

export function acceptStateFromJson(value: Prisma.JsonValue | null): AcceptState | null {
  return isAcceptState(value) ? value : null;
}
