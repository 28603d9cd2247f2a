-- An offer is taken at most max_per_order times per parent order: one offer_claims row per taken
-- slot, held by the accept that took it. The unique (parent_order_id, offer_id, slot) is the guard.

-- AlterTable
ALTER TABLE "offers" ADD COLUMN     "max_per_order" INTEGER NOT NULL DEFAULT 1;
ALTER TABLE "offers" ADD CONSTRAINT "offers_max_per_order_check" CHECK ("max_per_order" >= 1);

-- CreateTable
CREATE TABLE "offer_claims" (
    "accept_key" TEXT NOT NULL,
    "parent_order_id" TEXT NOT NULL,
    "offer_id" TEXT NOT NULL,
    "slot" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "offer_claims_pkey" PRIMARY KEY ("accept_key"),
    CONSTRAINT "offer_claims_slot_check" CHECK ("slot" >= 1)
);

-- CreateIndex
CREATE UNIQUE INDEX "offer_claims_parent_order_id_offer_id_slot_key" ON "offer_claims"("parent_order_id", "offer_id", "slot");

-- Accepts from before this migration keep their offer taken: those that succeeded (one claim per
-- payment that stands) and those still running (validated, perhaps at the bank for 3-D Secure), so a
-- second tab cannot be charged for an offer the parent already bought or is buying. A running one
-- that then ends without a charge gives its claim back like any other accept.
INSERT INTO "offer_claims" ("accept_key", "parent_order_id", "offer_id", "slot", "created_at")
SELECT held."idempotency_key", held."parent_order_id", held."offer_id",
       row_number() OVER (PARTITION BY held."parent_order_id", held."offer_id" ORDER BY held."since", held."idempotency_key"), held."since"
FROM (
    SELECT a."idempotency_key", a."parent_order_id", a."offer_id", p."created_at" AS "since"
    FROM "accepts" a JOIN "payments" p ON p."idempotency_key" = a."idempotency_key"
    WHERE a."status" = 'succeeded' AND a."parent_order_id" IS NOT NULL AND p."status" = 'succeeded'
    UNION ALL
    SELECT a."idempotency_key", a."parent_order_id", a."offer_id", a."created_at"
    FROM "accepts" a
    WHERE a."status" IN ('processing', 'requires_action') AND a."completed_at" IS NULL AND a."parent_order_id" IS NOT NULL
) held;
