-- Status columns become PostgreSQL enums (the schema's Prisma enums). Every stored value is kept:
-- each column is cast in place, and a value outside its enum fails the migration instead of passing.

CREATE TYPE "order_kind" AS ENUM ('parent', 'child');
CREATE TYPE "order_status" AS ENUM ('pending', 'paid', 'partially_refunded', 'refunded', 'cancelled');
CREATE TYPE "payment_status" AS ENUM ('succeeded', 'partially_refunded', 'refunded');
CREATE TYPE "refund_status" AS ENUM ('reserved', 'succeeded', 'pending', 'failed');
CREATE TYPE "line_item_status" AS ENUM ('partially_refunded', 'refunded');
CREATE TYPE "window_status" AS ENUM ('open', 'closed');
CREATE TYPE "accept_status" AS ENUM ('processing', 'succeeded', 'requires_action', 'declined', 'rejected', 'error', 'expired');
CREATE TYPE "outbox_status" AS ENUM ('pending', 'delivered', 'failed');
CREATE TYPE "sandbox_charge_status" AS ENUM ('succeeded', 'requires_action', 'declined', 'canceled', 'refunded');

-- A text default cannot be cast with its column: dropped first, set again as the enum value.
ALTER TABLE "orders"
  ALTER COLUMN "kind" DROP DEFAULT,
  ALTER COLUMN "kind" TYPE "order_kind" USING "kind"::"order_kind",
  ALTER COLUMN "kind" SET DEFAULT 'parent',
  ALTER COLUMN "status" TYPE "order_status" USING "status"::"order_status";

ALTER TABLE "payments" ALTER COLUMN "status" TYPE "payment_status" USING "status"::"payment_status";

ALTER TABLE "accepts" ALTER COLUMN "status" TYPE "accept_status" USING "status"::"accept_status";

ALTER TABLE "outbox_events"
  ALTER COLUMN "status" DROP DEFAULT,
  ALTER COLUMN "status" TYPE "outbox_status" USING "status"::"outbox_status",
  ALTER COLUMN "status" SET DEFAULT 'pending';

ALTER TABLE "sandbox_charges" ALTER COLUMN "status" TYPE "sandbox_charge_status" USING "status"::"sandbox_charge_status";

ALTER TABLE "refunds" ALTER COLUMN "status" TYPE "refund_status" USING "status"::"refund_status";

ALTER TABLE "line_items" ALTER COLUMN "status" TYPE "line_item_status" USING "status"::"line_item_status";

ALTER TABLE "upsell_windows"
  ALTER COLUMN "status" DROP DEFAULT,
  ALTER COLUMN "status" TYPE "window_status" USING "status"::"window_status",
  ALTER COLUMN "status" SET DEFAULT 'open';
