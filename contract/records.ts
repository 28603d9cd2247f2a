/**
 * The accept's JSON as the accepts table stores it (the answer, the current state, the validated
 * plan), read back through the same schemas that define it: parsed, never cast. A stored value that
 * does not fit is a MalformedRecordError naming the column, not a value of the wrong shape.
 */
import { Value } from '@sinclair/typebox/value';
import type { TSchema, Static } from '@sinclair/typebox';
import { AcceptPlan, AcceptState } from './accept.ts';

export class MalformedRecordError extends Error {
  override name = 'MalformedRecordError';
  constructor(
    readonly column: string,
    readonly problems: string[],
  ) {
    super(`the stored ${column} does not fit its schema: ${problems.join('; ')}`);
  }
}

/** A stored JSON value checked against its schema; MalformedRecordError when it does not fit. */
export function parseStored<T extends TSchema>(schema: T, column: string, value: unknown): Static<T> {
  if (Value.Check(schema, value)) return value;
  const problems = [...Value.Errors(schema, value)].slice(0, 3).map((e) => `${e.path || '/'} ${e.message}`);
  throw new MalformedRecordError(column, problems);
}

/** An accept's recorded answer or state (response / state columns): null when none is recorded yet. */
export function parseAcceptState(value: unknown, column = 'accept state'): AcceptState | null {
  return value === null || value === undefined ? null : parseStored(AcceptState, column, value);
}

/** The plan validation recorded (validated_plan). Plans recorded before return URLs existed read as without one. */
export function parseAcceptPlan(value: unknown): AcceptPlan {
  const withDefaults = value && typeof value === 'object' && !Array.isArray(value) ? { returnUrl: null, ...value } : value;
  return parseStored(AcceptPlan, 'validated plan', withDefaults);
}
