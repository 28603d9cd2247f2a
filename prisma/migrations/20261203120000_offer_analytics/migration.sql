-- Offer analytics: one row per thing that happened to an offer (an impression, an accept, a decline,
-- an SCA start or abandonment, a refund). The unique (kind, source_key) makes every writer
-- idempotent: a replayed accept, a retried activity or a second impression with the same token
-- inserts nothing (ON CONFLICT DO NOTHING), so the report counts each once.

-- CreateEnum
CREATE TYPE "offer_event_kind" AS ENUM ('impression', 'accept', 'buyer_decline', 'payment_decline', 'sca_started', 'sca_abandoned', 'refund');

-- CreateTable
CREATE TABLE "offer_events" (
    "id" BIGSERIAL NOT NULL,
    "offer_id" TEXT NOT NULL,
    "step_id" TEXT,
    "kind" "offer_event_kind" NOT NULL,
    "source_key" TEXT NOT NULL,
    "amount" INTEGER,
    "currency" CHAR(3) NOT NULL,
    "answer_ms" INTEGER,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "offer_events_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "offer_events_amount_check" CHECK ("amount" IS NULL OR "amount" >= 0),
    CONSTRAINT "offer_events_answer_ms_check" CHECK ("answer_ms" IS NULL OR "answer_ms" >= 0)
);

-- CreateIndex
CREATE UNIQUE INDEX "offer_events_kind_source_key_key" ON "offer_events"("kind", "source_key");

-- The report reads a time range of every offer (occurred_at first), or one offer over time.
-- CreateIndex
CREATE INDEX "offer_events_occurred_at_offer_id_idx" ON "offer_events"("occurred_at", "offer_id");

-- CreateIndex
CREATE INDEX "offer_events_offer_id_occurred_at_idx" ON "offer_events"("offer_id", "occurred_at");
