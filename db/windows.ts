/**
 * A parent order's post-purchase window: what it holds (accepted children or merged lines,
 * declines), which accepts still hold it open, and closing it (the window row and its
 * ocart/upsell/window_closed outbox event in one transaction, once per parent).
 */
import type { Db, DbTx, Prisma } from './client.ts';
import { newId } from './ids.ts';
import { Row, firstRow, parseRows } from './rows.ts';
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

/** Closes the window row and writes its event; a retry finds the event written and answers its id. */
export async function closeWindowRecord(prisma: Db, input: { parentExternalId: string; reason: WindowCloseReason }, now: Date): Promise<string> {
  return prisma.$transaction(async (tx) => {
    const eventKey = windowWorkflowId(input.parentExternalId);
    const existing = firstRow('outbox_events', await tx.$queryRaw<unknown[]>`SELECT id FROM outbox_events WHERE accept_key = ${eventKey}`, (r) => r.str('id'));
    if (existing) return existing;
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
    await tx.outboxEvent.create({ data: { id, type: WINDOW_CLOSED_EVENT, acceptKey: eventKey, payload, createdAt: now } });
    return id;
  });
}
