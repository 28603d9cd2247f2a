-- Merchant refunds of one upsell. A refunds row is written in status reserved before the gateway is
-- asked (so a concurrent refund sees the amount as taken), then succeeded or pending once the
-- gateway answered, or failed (its amount released) when the gateway refused.
CREATE TABLE "refunds" (
    "id" TEXT NOT NULL,
    "accept_id" TEXT NOT NULL,
    "payment_id" TEXT NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "status" TEXT NOT NULL,
    "gateway" TEXT NOT NULL,
    "gateway_ref" TEXT,
    "error_code" TEXT,
    "response" JSON,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "refunds_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "refunds_amount_positive" CHECK ("amount" > 0)
);

CREATE UNIQUE INDEX "refunds_idempotency_key_key" ON "refunds"("idempotency_key");
CREATE INDEX "refunds_accept_id_idx" ON "refunds"("accept_id");
CREATE INDEX "refunds_payment_id_idx" ON "refunds"("payment_id");

ALTER TABLE "refunds" ADD CONSTRAINT "refunds_payment_id_fkey" FOREIGN KEY ("payment_id") REFERENCES "payments"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- What has been given back, in minor units: never more than was charged.
ALTER TABLE "payments" ADD COLUMN "refunded_amount" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "payments" ADD CONSTRAINT "payments_refunded_amount_range" CHECK ("refunded_amount" >= 0 AND "refunded_amount" <= "amount");
ALTER TABLE "orders" ADD COLUMN "refunded_amount" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "line_items" ADD COLUMN "refunded_amount" INTEGER NOT NULL DEFAULT 0;
-- null for a line nothing was refunded on, else refunded or partially_refunded
ALTER TABLE "line_items" ADD COLUMN "status" TEXT;

-- The sandbox gateway's own refund ledger (it plays the gateway): one row per refund, keyed.
CREATE TABLE "sandbox_refunds" (
    "id" TEXT NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "charge_id" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sandbox_refunds_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "sandbox_refunds_idempotency_key_key" ON "sandbox_refunds"("idempotency_key");
CREATE INDEX "sandbox_refunds_charge_id_idx" ON "sandbox_refunds"("charge_id");
