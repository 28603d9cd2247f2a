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

-- Accepts that succeeded before this migration keep their offer taken: one claim per payment, in
-- order of payment, so a parent cannot be charged again for an offer it already bought.
INSERT INTO "offer_claims" ("accept_key", "parent_order_id", "offer_id", "slot", "created_at")
SELECT a."idempotency_key", a."parent_order_id", a."offer_id",
       row_number() OVER (PARTITION BY a."parent_order_id", a."offer_id" ORDER BY p."created_at", a."idempotency_key"), p."created_at"
FROM "accepts" a JOIN "payments" p ON p."idempotency_key" = a."idempotency_key"
WHERE a."status" = 'succeeded' AND a."parent_order_id" IS NOT NULL AND p."status" = 'succeeded';
