/**
 * (h) One offer, one charge per parent order: a buyer's ten tabs each mint their own token (through
 * the shop API) and accept at once under their own key. Exactly one is charged and becomes an order;
 * the nine others get 409 offer_already_accepted and nothing. Charges are counted in the sandbox
 * gateway's ledger by offer and parent order, not by key, so a second charge could not hide.
 */
import { newKey } from '../helpers/ids.ts';
import { API_KEY, type ScenarioResult, type Stack, pool } from './harness.ts';

const BUYERS = Number(process.env.REL_ONCE_BUYERS ?? 20);
const TABS = Number(process.env.REL_ONCE_TABS ?? 10);

export async function offerOncePerOrder(stack: Stack): Promise<ScenarioResult> {
  const buyers = await pool(Array.from({ length: BUYERS }), 5, () => stack.seedBuyer());
  const anomalies: string[] = [];
  let requests = 0;
  let completed = 0;
  let charges = 0;
  let orders = 0;
  await pool(buyers, 4, async (b) => {
    const tokens = await Promise.all(
      Array.from({ length: TABS }, async () =>
        String((await stack.shop('POST', `/wp-json/ocart/v1/upsells/${b.offerId}/tokens`, { order_id: b.externalId, cart_id: b.cartId })).token),
      ),
    );
    const keys = tokens.map(() => newKey('once'));
    const replies = await Promise.all(tokens.map((token, i) => stack.accept(b.offerId, keys[i]!, { token, cart_id: b.cartId })));
    requests += replies.length;
    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 409 && (JSON.parse(r.body) as { code?: string }).code === 'offer_already_accepted');
    if (ok.length === 1 && refused.length === TABS - 1) completed++;
    else
      anomalies.push(
        `${b.externalId}: statuses ${replies
          .map((r) => r.status)
          .sort()
          .join(',')} (want one 200, ${TABS - 1} × 409 offer_already_accepted)`,
      );

    const [row] = await stack.prisma.$queryRaw<Array<{ charged: number; orders: number }>>`
      SELECT (SELECT count(*)::int FROM sandbox_charges
               WHERE metadata->>'offer_id' = ${b.offerId} AND metadata->>'parent_order_id' = ${b.externalId} AND status = 'succeeded') AS charged,
             (SELECT count(*)::int FROM payments WHERE idempotency_key = ANY(${keys})) AS orders`;
    charges += row?.charged ?? 0;
    orders += row?.orders ?? 0;
    if (row?.charged !== 1) anomalies.push(`${b.externalId}: ${row?.charged ?? 0} charges at the gateway for one offer (want 1)`);
    if (row?.orders !== 1) anomalies.push(`${b.externalId}: ${row?.orders ?? 0} orders (want 1)`);
    // A third tab after the fact cannot even get a token.
    const late = await fetch(`${stack.base}/wp-json/ocart/v1/upsells/${b.offerId}/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify({ order_id: b.externalId, cart_id: b.cartId }),
    });
    requests++;
    if (late.status !== 409) anomalies.push(`${b.externalId}: minting after the accept answered ${late.status} (want 409)`);
  });
  return {
    scenario: `(h) one offer, one charge per order: ${BUYERS} buyers x ${TABS} tabs, each its own token and key`,
    requests,
    completed,
    charges,
    orders,
    anomalies,
  };
}
