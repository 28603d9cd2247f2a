-- Funnels: ordered offer steps with where to go after a yes, a no or a declined card.
-- funnel_answers holds the next step each accept or decline key answered, so a replay answers
-- the same next token. buyer_declines records every "no thanks". upsell_windows is the
-- post-purchase window of each parent order as the shop can read it.

-- CreateTable
CREATE TABLE "funnels" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "entry" TEXT NOT NULL,
    "max_accepts" INTEGER NOT NULL DEFAULT 3,
    "steps" JSONB NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "starts_at" TIMESTAMP(3),
    "ends_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "funnels_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "funnels_max_accepts_check" CHECK ("max_accepts" >= 1)
);

-- CreateTable
CREATE TABLE "funnel_answers" (
    "idempotency_key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "funnel_id" TEXT NOT NULL,
    "step_id" TEXT NOT NULL,
    "offer_id" TEXT NOT NULL,
    "parent_external_id" TEXT NOT NULL,
    "cart_id" TEXT NOT NULL,
    "outcome" TEXT,
    "next" JSONB,
    "answered_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "funnel_answers_pkey" PRIMARY KEY ("idempotency_key")
);

-- CreateIndex
CREATE INDEX "funnel_answers_parent_external_id_idx" ON "funnel_answers"("parent_external_id");

-- CreateTable
CREATE TABLE "buyer_declines" (
    "idempotency_key" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "jti" TEXT NOT NULL,
    "offer_id" TEXT NOT NULL,
    "parent_external_id" TEXT NOT NULL,
    "cart_id" TEXT NOT NULL,
    "funnel_id" TEXT,
    "step_id" TEXT,
    "response" JSON NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "buyer_declines_pkey" PRIMARY KEY ("idempotency_key")
);

-- CreateIndex
CREATE UNIQUE INDEX "buyer_declines_jti_key" ON "buyer_declines"("jti");
CREATE INDEX "buyer_declines_parent_external_id_idx" ON "buyer_declines"("parent_external_id");

-- CreateTable
CREATE TABLE "upsell_windows" (
    "parent_external_id" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'open',
    "closes_at" TIMESTAMP(3) NOT NULL,
    "reason" TEXT,
    "closed_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "upsell_windows_pkey" PRIMARY KEY ("parent_external_id")
);
