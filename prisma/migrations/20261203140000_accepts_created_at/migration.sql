-- The merchant console lists the most recent accepts first: read them newest first through an index.

-- CreateIndex
CREATE INDEX "accepts_created_at_idx" ON "accepts"("created_at");
