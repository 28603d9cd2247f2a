-- A charge found without its order after the accept closed (a late webhook) is refunded by the
-- reconcileCharge workflow, and the accept record says so.
ALTER TABLE "accepts" ADD COLUMN "refund_ref" TEXT;
ALTER TABLE "accepts" ADD COLUMN "refunded_at" TIMESTAMP(3);
