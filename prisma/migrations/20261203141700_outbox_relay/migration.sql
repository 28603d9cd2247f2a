-- The outbox relay in the worker delivers events: each row carries when it is next due, in UTC like
-- every other timestamp the service writes. A claim pushes it forward by a lease, a failed attempt by
-- its backoff. A new row (and every existing one) is due at once.
ALTER TABLE "outbox_events" ADD COLUMN "next_attempt_at" TIMESTAMP(3) NOT NULL DEFAULT timezone('UTC', now());

-- The relay's claim reads pending rows in due order.
CREATE INDEX "outbox_events_status_next_attempt_at_idx" ON "outbox_events"("status", "next_attempt_at");
