/**
 * The validated plan as recorded at validation's first success (upsertValidatedAccept), read back
 * when the accept's first workflow task runs again. Validation, the method check and the charge run
 * as local activities in one workflow task, so a worker that dies after the charge makes the whole
 * task run again: it must charge and write with the plan it charged with, never re-check a token
 * that has expired since, or a price that has changed since, and refuse an accept that was charged.
 */
import type { Db } from '../db/client.ts';
import type { AcceptInput, AcceptPlan } from '../contract/accept.ts';
import { parseAcceptPlan } from '../contract/records.ts';

export interface RecordedPlan {
  plan: AcceptPlan;
  /** the gateway accepted the saved method for this plan (a charge may have followed) */
  methodChecked: boolean;
}

/**
 * This accept's recorded plan, or null before validation first succeeded. Same key and same request
 * only, and only while the accept is open: a closed accept's plan is never reused to charge again.
 * The stored JSON is parsed with the plan's schema: one that does not fit throws MalformedRecordError.
 */
export async function findRecordedPlan(db: Db, input: Pick<AcceptInput, 'acceptKey' | 'fingerprint'>): Promise<RecordedPlan | null> {
  const rows = await db.$queryRaw<Array<{ validated_plan: unknown; method_checked: boolean }>>`
    SELECT validated_plan, method_checked_at IS NOT NULL AS method_checked FROM accepts
    WHERE idempotency_key = ${input.acceptKey} AND fingerprint = ${input.fingerprint} AND validated_plan IS NOT NULL
      AND completed_at IS NULL`;
  const r = rows[0];
  return r ? { plan: parseAcceptPlan(r.validated_plan), methodChecked: r.method_checked === true } : null;
}

/** Recorded before the charge can start: a re-run after it skips the check as well. */
export async function markMethodChecked(db: Db, acceptKey: string): Promise<void> {
  await db.$executeRaw`UPDATE accepts SET method_checked_at = now() WHERE idempotency_key = ${acceptKey} AND method_checked_at IS NULL`;
}
