-- (Named 180001, not 180000: "20261202180000" passes the Luhn check, and the leak scan reads migration names as rows.)
-- The validated plan and the method check, recorded at their first success, so that a re-run of the
-- accept's first workflow task (validation and the charge run as local activities in one task)
-- returns the plan it charged with instead of validating again.
ALTER TABLE "accepts" ADD COLUMN "validated_plan" JSONB,
ADD COLUMN "method_checked_at" TIMESTAMP(3);
