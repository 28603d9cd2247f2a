/**
 * A parent order's post-purchase window: what it holds (accepted children or merged lines,
 * declines), which accepts still hold it open, and closing it (the window row and its
 * ocart/upsell/window_closed outbox event in one transaction, once per parent).
 */
import type { Sql } from './sql.ts';
import type { Db, DbTx, Prisma } from './client.ts';
import { newId } from './ids.ts';
import { Row, firstRow, parseRows } from './rows.ts';
import { WINDOW_STATUSES } from './statuses.ts';
import { WINDOW_CLOSED_EVENT, type WindowCloseReason, type WindowClosedData, windowWorkflowId } from '../contract/window.ts';

type WindowOrder = WindowClosedData['accepted'][number]['order'];

/** The order an accept's stored answer names, read with the row checks (a stored answer without one gives null). */
function answeredOrder(response: unknown): WindowOrder | null {
  if (response === null || typeof response !== 'object' || Array.isArray(response) || !('order' in response) || !response.order) return null;
  const order = new Row('accepts.response', response).object('order');
  return { id: order.str('id'), external_id: order.str('external_id'), kind: order.str('kind') };
}

/** What the window holds for a parent: every accepted child or merged line, every decline. */
export async function windowContents(db: Db | DbTx, parentExternalId: string): Promise<Pick<WindowClosedData, 'accepted' | 'declined'> & { parentId: string | null }> {
  const parent = firstRow('orders', await db.$queryRaw<unknown[]>`SELECT id FROM orders WHERE external_id = ${parentExternalId}`, (r) => r.str('id'));
  const accepts = parent
    ? parseRows(
        'accepts',
        await db.$queryRaw<unknown[]>`
          SELECT idempotency_key, offer_id, amount, currency, child_order_id, response FROM accepts
          WHERE parent_order_id = ${parent} AND status = 'succeeded' ORDER BY completed_at ASC`,
        (r) => ({
          accept_id: r.str('idempotency_key'),
          offer_id: r.str('offer_id'),
          amount: { value: r.intOrNull('amount') ?? 0, currency: r.strOrNull('currency') ?? '' },
          order: answeredOrder(r.json('response')) ?? { id: r.strOrNull('child_order_id') ?? '', external_id: '', kind: 'child' },
        }),
      )
    : [];
  const declined = parseRows(
    'buyer_declines',
    await db.$queryRaw<unknown[]>`
      SELECT idempotency_key, offer_id, step_id, created_at FROM buyer_declines WHERE parent_external_id = ${parentExternalId} ORDER BY created_at ASC`,
    (r) => ({ decline_id: r.str('idempotency_key'), offer_id: r.str('offer_id'), step_id: r.strOrNull('step_id'), declined_at: r.date('created_at').toISOString() }),
  );
  return { parentId: parent, accepted: accepts, declined };
}

/** Of these accept keys, which have a record, and whether it has completed. */
export async function acceptCompletions(db: Db, keys: readonly string[]): Promise<Map<string, boolean>> {
  if (keys.length === 0) return new Map();
  const rows = parseRows(
    'accepts',
    await db.$queryRaw<unknown[]>`SELECT idempotency_key, completed_at IS NOT NULL AS completed FROM accepts WHERE idempotency_key = ANY(${[...keys]}::text[])`,
    (r) => [r.str('idempotency_key'), r.bool('completed')] as const,
  );
  return new Map(rows);
}

/**
 * Taken by validation inside the transaction that burns the accept's jti and writes its record: a
 * closed window refuses the accept, and an open one cannot close (closeWindowUnlessHeld locks the
 * same row) until that transaction has committed the record that then holds it open.
 */
export async function holdWindowOpen(tx: Sql, parentExternalId: string): Promise<'open' | 'closed' | 'none'> {
  const rows = await tx.$queryRaw<unknown[]>`SELECT status::text AS status FROM upsell_windows WHERE parent_external_id = ${parentExternalId} FOR SHARE`;
  return firstRow('upsell_windows', rows, (r) => r.enumOf('status', WINDOW_STATUSES)) ?? 'none';
}

/** The accepts of this parent that have a record and have not ended (charging, or waiting for SCA). */
export async function openAcceptsOfParent(db: Db | DbTx, parentExternalId: string): Promise<string[]> {
  return parseRows(
    'accepts',
    await db.$queryRaw<unknown[]>`
      SELECT a.idempotency_key FROM accepts a JOIN orders o ON o.id = a.parent_order_id
      WHERE o.external_id = ${parentExternalId} AND a.completed_at IS NULL`,
    (r) => r.str('idempotency_key'),
  );
}

async function writeClose(tx: DbTx, input: { parentExternalId: string; reason: WindowCloseReason }, now: Date): Promise<string> {
  await tx.$executeRaw`
    UPDATE upsell_windows SET status = 'closed', reason = ${input.reason}, closed_at = ${now.toISOString()}::timestamp(3)
    WHERE parent_external_id = ${input.parentExternalId} AND status = 'open'`;
  const contents = await windowContents(tx, input.parentExternalId);
  const id = newId('evt');
  const data: WindowClosedData = {
    parent_order: { id: contents.parentId, external_id: input.parentExternalId },
    reason: input.reason,
    accepted: contents.accepted,
    declined: contents.declined,
    closed_at: now.toISOString(),
  };
  const payload: Prisma.InputJsonObject = { id, type: WINDOW_CLOSED_EVENT, created_at: now.toISOString(), data: { ...data } };
  await tx.outboxEvent.create({ data: { id, type: WINDOW_CLOSED_EVENT, acceptKey: windowWorkflowId(input.parentExternalId), payload, createdAt: now } });
  return id;
}

async function writtenCloseEvent(tx: DbTx, parentExternalId: string): Promise<string | null> {
  const eventKey = windowWorkflowId(parentExternalId);
  return firstRow('outbox_events', await tx.$queryRaw<unknown[]>`SELECT id FROM outbox_events WHERE accept_key = ${eventKey}`, (r) => r.str('id'));
}

/** Closes the window row and writes its event; a retry finds the event written and answers its id. (Windows started before closeWindowUnlessHeld.) */
export async function closeWindowRecord(prisma: Db, input: { parentExternalId: string; reason: WindowCloseReason }, now: Date): Promise<string> {
  return prisma.$transaction(async (tx) => (await writtenCloseEvent(tx, input.parentExternalId)) ?? writeClose(tx, input, now));
}

/**
 * Closes the window unless an accept of its parent has a record and has not ended (`ignore`: records
 * whose workflow is known to have ended without completing them). The window row is locked first, so
 * an accept validating now either committed its record before (and holds the window) or finds the
 * window closed and is refused. A retry finds the event written and answers its id.
 */
export async function closeWindowUnlessHeld(
  prisma: Db,
  input: { parentExternalId: string; reason: WindowCloseReason; ignore?: readonly string[] },
  now: Date,
): Promise<{ eventId: string } | { heldBy: string[] }> {
  return prisma.$transaction(async (tx) => {
    const written = await writtenCloseEvent(tx, input.parentExternalId);
    if (written) return { eventId: written };
    await tx.$queryRaw`SELECT status FROM upsell_windows WHERE parent_external_id = ${input.parentExternalId} FOR UPDATE`;
    const ignore = new Set(input.ignore ?? []);
    const heldBy = (await openAcceptsOfParent(tx, input.parentExternalId)).filter((key) => !ignore.has(key));
    if (heldBy.length > 0) return { heldBy };
    return { eventId: await writeClose(tx, input, now) };
  });
}
