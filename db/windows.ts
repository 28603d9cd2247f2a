/** A parent order's post-purchase window: what it holds (accepted children or merged lines, declines). */
import type { Db } from './client.ts';

/** What the window holds for a parent: every accepted child or merged line, every decline. */
export async function windowContents(prisma: Db, parentExternalId: string) {
  const parent = await prisma.order.findUnique({ where: { externalId: parentExternalId }, select: { id: true } });
  const accepts = parent ? await prisma.accept.findMany({ where: { parentOrderId: parent.id, status: 'succeeded' }, orderBy: { completedAt: 'asc' } }) : [];
  const declines = await prisma.buyerDecline.findMany({ where: { parentExternalId }, orderBy: { createdAt: 'asc' } });
  return {
    parentId: parent?.id ?? null,
    accepted: accepts.map((a) => {
      const order = (a.response as { order?: { id: string; external_id: string; kind: string } } | null)?.order;
      return {
        accept_id: a.idempotencyKey,
        offer_id: a.offerId,
        amount: { value: a.amount ?? 0, currency: a.currency ?? '' },
        order: order ?? { id: a.childOrderId ?? '', external_id: '', kind: 'child' },
      };
    }),
    declined: declines.map((d) => ({ decline_id: d.idempotencyKey, offer_id: d.offerId, step_id: d.stepId, declined_at: d.createdAt.toISOString() })),
  };
}
