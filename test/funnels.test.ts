/** Funnels over HTTP against the real stack: CRUD and validation, next steps, decline, the post-purchase window. */
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_CODE_OPTIONS } from '../worker/worker.ts';
import { NEVER_STARTED_AFTER_MS, createWindowActivities } from '../activities/window.ts';
import { validateAcceptRequest } from '../activities/validation.ts';
import { holdWindowOpen } from '../db/windows.ts';
import { DomainError } from '../domain/errors.ts';
import { requestFingerprint } from '../domain/idempotency.ts';
import { buildGateways } from '../gateways/index.ts';
import { acceptStartingUpdate, windowStateQuery } from '../workflows/window-messages.ts';
import { accept, auth, createOffer, mintToken, registerParentOrder } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** Parents whose window closed in these tests: their histories must replay on today's code. */
const closedWindows: string[] = [];

type Next = { step_id: string; offer_id: string; name: string; amount: { value: number; currency: string }; token: string } | null;

function post(url: string, payload: unknown, headers: Record<string, string> = auth) {
  return stack.app.inject({ method: 'POST', url, headers, payload: payload as Record<string, unknown> });
}

function decline(offerId: string, key: string, body: Record<string, unknown>) {
  return stack.app.inject({
    method: 'POST',
    url: `/wp-json/ocart/v1/upsells/${offerId}/decline`,
    headers: { 'content-type': 'application/json', 'x-idempotency-key': key },
    payload: JSON.stringify(body),
  });
}

async function patchSettings(patch: Record<string, unknown>) {
  const res = await stack.app.inject({ method: 'PATCH', url: '/wp-json/ocart/v1/settings', headers: auth, payload: patch });
  expect(res.statusCode, res.body).toBe(200);
}

/** upsell -> yes: second upsell, no: downsell; each step ends the funnel after it. */
async function threeStepFunnel(currency = 'USD') {
  const upsell = await createOffer(stack.app, { amount: 2000, currency });
  const downsell = await createOffer(stack.app, { amount: 900, currency });
  const second = await createOffer(stack.app, { amount: 1200, currency });
  const res = await post('/wp-json/ocart/v1/funnels', {
    name: 'Three steps',
    entry: 'upsell',
    steps: [
      { id: 'upsell', offer_id: upsell.id, on_accept: 'second', on_decline: 'downsell' },
      { id: 'downsell', offer_id: downsell.id, on_accept: 'end', on_decline: 'end' },
      { id: 'second', offer_id: second.id, on_accept: 'end', on_decline: 'end' },
    ],
  });
  expect(res.statusCode, res.body).toBe(201);
  return { funnel: res.json<{ id: string; max_accepts: number; currency: string }>(), upsell, downsell, second };
}

async function entryToken(funnelId: string, order: { externalId: string; cartId: string }) {
  const res = await post(`/wp-json/ocart/v1/funnels/${funnelId}/tokens`, { order_id: order.externalId, cart_id: order.cartId });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ token: string; jti: string; offer_id: string; step_id: string; amount: { value: number } }>();
}

async function chargesFor(key: string) {
  return stack.prisma.sandboxCharge.count({ where: { metadata: { path: ['workflow_id'], equals: key } } });
}

async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function getWindow(externalId: string) {
  return stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/orders/${externalId}/window`, headers: auth });
}

describe('funnels: create, read, replace, validate', () => {
  it('creates a funnel (max_accepts 3 by default), reads and replaces it', async () => {
    const { funnel, upsell, downsell } = await threeStepFunnel();
    expect(funnel).toMatchObject({ max_accepts: 3, currency: 'USD' });
    const got = await stack.app.inject({ method: 'GET', url: `/wp-json/ocart/v1/funnels/${funnel.id}`, headers: auth });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(funnel);

    const put = await stack.app.inject({
      method: 'PUT',
      url: `/wp-json/ocart/v1/funnels/${funnel.id}`,
      headers: auth,
      payload: {
        name: 'Two steps',
        entry: 'a',
        max_accepts: 1,
        steps: [
          { id: 'a', offer_id: upsell.id, on_accept: 'end', on_decline: 'b' },
          { id: 'b', offer_id: downsell.id, on_accept: 'end', on_decline: 'end' },
        ],
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    const row = await stack.prisma.funnel.findUniqueOrThrow({ where: { id: funnel.id } });
    expect(row).toMatchObject({ name: 'Two steps', entry: 'a', maxAccepts: 1 });
  });

  it('refuses cycles, unknown offers, unreachable steps and mixed currencies with their 422 codes, writing nothing', async () => {
    const usd = await createOffer(stack.app, { currency: 'USD' });
    const usd2 = await createOffer(stack.app, { currency: 'USD' });
    const eur = await createOffer(stack.app, { currency: 'EUR' });
    const before = await stack.prisma.funnel.count();
    const cases: Array<[string, unknown[]]> = [
      [
        'funnel_cycle',
        [
          { id: 'a', offer_id: usd.id, on_accept: 'b', on_decline: 'end' },
          { id: 'b', offer_id: usd2.id, on_accept: 'a', on_decline: 'end' },
        ],
      ],
      ['unknown_offer', [{ id: 'a', offer_id: 'off_missing_nowhere', on_accept: 'end', on_decline: 'end' }]],
      [
        'unreachable_step',
        [
          { id: 'a', offer_id: usd.id, on_accept: 'end', on_decline: 'end' },
          { id: 'b', offer_id: usd2.id, on_accept: 'end', on_decline: 'end' },
        ],
      ],
      [
        'mixed_currencies',
        [
          { id: 'a', offer_id: usd.id, on_accept: 'b', on_decline: 'end' },
          { id: 'b', offer_id: eur.id, on_accept: 'end', on_decline: 'end' },
        ],
      ],
      ['invalid_funnel', [{ id: 'a', offer_id: usd.id, on_accept: 'nowhere', on_decline: 'end' }]],
    ];
    for (const [code, steps] of cases) {
      const res = await post('/wp-json/ocart/v1/funnels', { name: code, entry: 'a', steps });
      expect(res.statusCode, `${code}: ${res.body}`).toBe(422);
      expect(res.json()).toMatchObject({ status: 'rejected', code });
    }
    expect(await stack.prisma.funnel.count()).toBe(before);
  });

  it('needs the API key, and answers 404 funnel_not_found for an unknown funnel', async () => {
    const anon = await post('/wp-json/ocart/v1/funnels', { name: 'x', entry: 'a', steps: [] }, {});
    expect(anon.statusCode).toBe(401);
    const missing = await stack.app.inject({ method: 'GET', url: '/wp-json/ocart/v1/funnels/fun_nope', headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'funnel_not_found' });
  });
});

describe('funnels: next steps, minted by the service', () => {
  it('yes -> yes: each success answers the next step and a fresh token; the last answers next: null; a replay answers the same next', async () => {
    const { funnel, upsell, second } = await threeStepFunnel();
    const order = await registerParentOrder(stack.app);
    const entry = await entryToken(funnel.id, order);
    expect(entry).toMatchObject({ offer_id: upsell.id, step_id: 'upsell', amount: { value: 2000 } });

    const key1 = newKey();
    const first = await accept(stack.app, upsell.id, key1, { token: entry.token, cart_id: order.cartId });
    expect(first.statusCode, first.body).toBe(200);
    const next = first.json<{ status: string; next: Next }>().next!;
    expect(next).toMatchObject({ step_id: 'second', offer_id: second.id, name: 'Matching socks', amount: { value: 1200, currency: 'USD' } });
    const replay = await accept(stack.app, upsell.id, key1, { token: entry.token, cart_id: order.cartId });
    expect(replay.statusCode).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json<{ next: Next }>().next).toEqual(next);

    const key2 = newKey();
    const last = await accept(stack.app, second.id, key2, { token: next.token, cart_id: order.cartId });
    expect(last.statusCode, last.body).toBe(200);
    expect(last.json()).toMatchObject({ status: 'succeeded', next: null });
    expect(await chargesFor(key1)).toBe(1);
    expect(await chargesFor(key2)).toBe(1);

    // The funnel ended: the window closes and fires window_closed once, with both accepts.
    const closed = await waitFor(
      () => getWindow(order.externalId),
      (r) => r.json<{ status: string }>().status === 'closed',
    );
    expect(closed.json()).toMatchObject({ status: 'closed', reason: 'funnel_ended', declined: [] });
    closedWindows.push(order.externalId);
    expect(
      closed
        .json<{ accepted: Array<{ accept_id: string }> }>()
        .accepted.map((a) => a.accept_id)
        .sort(),
    ).toEqual([key1, key2].sort());
    const events = await stack.prisma.outboxEvent.findMany({ where: { type: 'ocart/upsell/window_closed', acceptKey: `window:${order.externalId}` } });
    expect(events).toHaveLength(1);
    expect(events[0]!.payload).toMatchObject({ data: { parent_order: { id: order.id, external_id: order.externalId }, reason: 'funnel_ended' } });
  });

  it('no -> downsell: decline burns the token, records it, answers the downsell; replays answer the same body', async () => {
    const { funnel, upsell, downsell } = await threeStepFunnel();
    const order = await registerParentOrder(stack.app);
    const entry = await entryToken(funnel.id, order);
    const key = newKey();
    const res = await decline(upsell.id, key, { token: entry.token, cart_id: order.cartId });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ status: string; accept_id: string; next: Next }>();
    expect(body).toMatchObject({ status: 'declined_by_buyer', accept_id: key, next: { step_id: 'downsell', offer_id: downsell.id, amount: { value: 900 } } });
    expect(await stack.prisma.buyerDecline.count({ where: { idempotencyKey: key, parentExternalId: order.externalId } })).toBe(1);
    expect(await stack.prisma.burnedToken.count({ where: { jti: entry.jti, acceptKey: key } })).toBe(1);

    const replay = await decline(upsell.id, key, { token: entry.token, cart_id: order.cartId });
    expect(replay.statusCode).toBe(200);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json()).toEqual(body);

    // The burned token can no longer be declined under another key, nor accepted.
    const again = await decline(upsell.id, newKey(), { token: entry.token, cart_id: order.cartId });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'token_replayed' });
    const acceptKey = newKey();
    const late = await accept(stack.app, upsell.id, acceptKey, { token: entry.token, cart_id: order.cartId });
    expect(late.statusCode).toBe(409);
    expect(await chargesFor(acceptKey)).toBe(0);

    const yes = await accept(stack.app, downsell.id, newKey(), { token: body.next!.token, cart_id: order.cartId });
    expect(yes.statusCode, yes.body).toBe(200);
    expect(yes.json()).toMatchObject({ status: 'succeeded', next: null });
    const closed = await waitFor(
      () => getWindow(order.externalId),
      (r) => r.json<{ status: string }>().status === 'closed',
    );
    expect(closed.json<{ declined: Array<{ decline_id: string }> }>().declined.map((d) => d.decline_id)).toEqual([key]);
  });

  it('a declined card answers 402 with the payment-declined step', async () => {
    const { funnel, upsell, downsell } = await threeStepFunnel();
    const order = await registerParentOrder(stack.app, { methodRef: 'pm_card_chargeDeclined' });
    const entry = await entryToken(funnel.id, order);
    const res = await accept(stack.app, upsell.id, newKey(), { token: entry.token, cart_id: order.cartId });
    expect(res.statusCode, res.body).toBe(402);
    expect(res.json()).toMatchObject({ status: 'declined', code: 'card_declined', next: { step_id: 'downsell', offer_id: downsell.id } });
  });

  it('SCA on a step: the status URL answers the success with its next step, once the buyer authenticated', async () => {
    const { funnel, upsell, second } = await threeStepFunnel();
    const order = await registerParentOrder(stack.app, { methodRef: 'pm_card_authenticationRequired' });
    const entry = await entryToken(funnel.id, order);
    const key = newKey();
    const res = await accept(stack.app, upsell.id, key, { token: entry.token, cart_id: order.cartId });
    expect(res.statusCode, res.body).toBe(202);
    const json = res.json<{ action: { client_secret: string }; status_url: string }>();
    expect(json).not.toHaveProperty('next');
    const chargeId = json.action.client_secret.replace(/_secret$/, '');
    const approve = await stack.app.inject({ method: 'POST', url: `/sandbox/authenticate/${chargeId}`, payload: { result: 'approve' } });
    expect(approve.statusCode, approve.body).toBe(200);
    const done = await waitFor(
      () => stack.app.inject({ method: 'GET', url: json.status_url }),
      (r) => r.json<{ status: string }>().status === 'succeeded',
    );
    const next = done.json<{ next: Next }>().next;
    expect(next).toMatchObject({ step_id: 'second', offer_id: second.id });
    const again = await stack.app.inject({ method: 'GET', url: json.status_url });
    expect(again.json<{ next: Next }>().next).toEqual(next);
    expect(await chargesFor(key)).toBe(1);
  });

  it('a double click on "no thanks" records one decline and answers one next token', async () => {
    const { funnel, upsell } = await threeStepFunnel();
    const order = await registerParentOrder(stack.app);
    const entry = await entryToken(funnel.id, order);
    const key = newKey();
    const answers = await Promise.all([1, 2, 3].map(() => decline(upsell.id, key, { token: entry.token, cart_id: order.cartId })));
    for (const a of answers) expect(a.statusCode, a.body).toBe(200);
    const tokens = new Set(answers.map((a) => a.json<{ next: Next }>().next!.token));
    expect(tokens.size).toBe(1);
    expect(await stack.prisma.buyerDecline.count({ where: { parentExternalId: order.externalId } })).toBe(1);
  });

  it('skips a step whose rules exclude the order, and ends past max_accepts', async () => {
    const first = await createOffer(stack.app, { amount: 2000 });
    const bigOnly = await createOffer(stack.app, { amount: 3000 });
    const last = await createOffer(stack.app, { amount: 800 });
    const created = await post('/wp-json/ocart/v1/funnels', {
      name: 'Skip and cap',
      entry: 'a',
      max_accepts: 2,
      steps: [
        { id: 'a', offer_id: first.id, on_accept: 'big', on_decline: 'end' },
        { id: 'big', offer_id: bigOnly.id, on_accept: 'c', on_decline: 'c', eligibility: { min_parent_total: 100_000 } },
        { id: 'c', offer_id: last.id, on_accept: 'end', on_decline: 'end' },
      ],
    });
    expect(created.statusCode, created.body).toBe(201);
    const funnelId = created.json<{ id: string }>().id;
    const order = await registerParentOrder(stack.app, { total: 5000 });
    const entry = await entryToken(funnelId, order);
    const yes = await accept(stack.app, first.id, newKey(), { token: entry.token, cart_id: order.cartId });
    // "big" needs a parent of at least 1000.00: skipped as if declined, so "c" comes next.
    expect(yes.json()).toMatchObject({ status: 'succeeded', next: { step_id: 'c', offer_id: last.id } });

    await stack.app.inject({
      method: 'PUT',
      url: `/wp-json/ocart/v1/funnels/${funnelId}`,
      headers: auth,
      payload: { ...created.json<Record<string, unknown>>(), id: undefined, currency: undefined, starts_at: null, ends_at: null, max_accepts: 1 },
    });
    const other = await registerParentOrder(stack.app, { total: 5000 });
    const capped = await accept(stack.app, first.id, newKey(), { token: (await entryToken(funnelId, other)).token, cart_id: other.cartId });
    // One accept is all this funnel takes now: the answer ends it.
    expect(capped.json()).toMatchObject({ status: 'succeeded', next: null });
  });

  it('a bad token on decline gets the accept token codes, and nothing is written', async () => {
    const { upsell } = await threeStepFunnel();
    const order = await registerParentOrder(stack.app);
    const minted = await mintToken(stack.app, upsell.id, order.externalId, order.cartId);
    const before = await stack.prisma.buyerDecline.count();
    const forged = `${minted.token.split('.')[0]}.AAAA`;
    expect((await decline(upsell.id, newKey(), { token: forged, cart_id: order.cartId })).json()).toMatchObject({ code: 'token_signature_invalid' });
    expect((await decline(upsell.id, newKey(), { token: 'nope', cart_id: order.cartId })).json()).toMatchObject({ code: 'token_malformed' });
    const other = await decline(upsell.id, newKey(), { token: minted.token, cart_id: 'cart-someone-else' });
    expect(other.statusCode).toBe(403);
    const noKey = await stack.app.inject({ method: 'POST', url: `/wp-json/ocart/v1/upsells/${upsell.id}/decline`, payload: { token: minted.token, cart_id: order.cartId } });
    expect(noKey.json()).toMatchObject({ code: 'idempotency_key_missing' });
    expect(await stack.prisma.buyerDecline.count()).toBe(before);
    expect(await stack.prisma.burnedToken.count({ where: { jti: minted.jti } })).toBe(0);
  });

  it('an offer token can name its funnel step, or get the default funnel; a plain one answers no next', async () => {
    const { funnel, upsell, second } = await threeStepFunnel();
    const order = await registerParentOrder(stack.app);
    const named = await post(`/wp-json/ocart/v1/upsells/${second.id}/tokens`, { order_id: order.externalId, cart_id: order.cartId, funnel_id: funnel.id, step_id: 'second' });
    expect(named.statusCode, named.body).toBe(201);
    expect(named.json()).toMatchObject({ offer_id: second.id, step_id: 'second' });
    const wrong = await post(`/wp-json/ocart/v1/upsells/${upsell.id}/tokens`, { order_id: order.externalId, cart_id: order.cartId, funnel_id: funnel.id, step_id: 'second' });
    expect(wrong.statusCode).toBe(400);

    const plain = await mintToken(stack.app, upsell.id, order.externalId, order.cartId);
    const plainAnswer = await accept(stack.app, upsell.id, newKey(), { token: plain.token, cart_id: order.cartId });
    expect(plainAnswer.statusCode, plainAnswer.body).toBe(200);
    expect(plainAnswer.json()).not.toHaveProperty('next');

    await patchSettings({ 'upsells.default_funnel_id': funnel.id });
    try {
      const other = await registerParentOrder(stack.app);
      const viaDefault = await post(`/wp-json/ocart/v1/upsells/${upsell.id}/tokens`, { order_id: other.externalId, cart_id: other.cartId });
      expect(viaDefault.json()).toMatchObject({ step_id: 'upsell' });
      const answer = await accept(stack.app, upsell.id, newKey(), { token: viaDefault.json<{ token: string }>().token, cart_id: other.cartId });
      expect(answer.json()).toMatchObject({ status: 'succeeded', next: { step_id: 'second' } });
    } finally {
      await patchSettings({ 'upsells.default_funnel_id': null });
    }
  });
});

describe('the post-purchase window', () => {
  it('closes on its timer with window_closed; an accept after that is 409 window_closed and charges nothing', async () => {
    await patchSettings({ 'upsells.window_min': 0.05 });
    try {
      const offer = await createOffer(stack.app);
      const order = await registerParentOrder(stack.app);
      const minted = await mintToken(stack.app, offer.id, order.externalId, order.cartId);
      const open = await getWindow(order.externalId);
      expect(open.statusCode, open.body).toBe(200);
      expect(open.json()).toMatchObject({ status: 'open', accepted: [], declined: [] });

      const closed = await waitFor(
        () => getWindow(order.externalId),
        (r) => r.json<{ status: string }>().status === 'closed',
      );
      expect(closed.json()).toMatchObject({ status: 'closed', reason: 'timer' });
      closedWindows.push(order.externalId);
      const key = newKey();
      const late = await accept(stack.app, offer.id, key, { token: minted.token, cart_id: order.cartId });
      expect(late.statusCode, late.body).toBe(409);
      expect(late.json()).toMatchObject({ code: 'window_closed' });
      expect(await chargesFor(key)).toBe(0);
      const lateNo = await decline(offer.id, newKey(), { token: minted.token, cart_id: order.cartId });
      expect(lateNo.statusCode).toBe(409);
      expect(lateNo.json()).toMatchObject({ code: 'window_closed' });
      expect(await stack.prisma.buyerDecline.count({ where: { parentExternalId: order.externalId } })).toBe(0);
      const lateMint = await post(`/wp-json/ocart/v1/upsells/${offer.id}/tokens`, { order_id: order.externalId, cart_id: order.cartId });
      expect(lateMint.statusCode).toBe(409);
      expect(await stack.prisma.outboxEvent.count({ where: { type: 'ocart/upsell/window_closed', acceptKey: `window:${order.externalId}` } })).toBe(1);
      // Delivered like ocart/upsell/accepted: the workflow has made its first attempt.
      const event = await waitFor(
        () => stack.prisma.outboxEvent.findUniqueOrThrow({ where: { acceptKey: `window:${order.externalId}` } }),
        (e) => e.attempts > 0,
      );
      expect(event.attempts).toBeGreaterThan(0);
      const description = await stack.client.workflow.getHandle(`window:${order.externalId}`).describe();
      expect(description.status.name).toBe('COMPLETED');
    } finally {
      await patchSettings({ 'upsells.window_min': 15 });
    }
  });

  it('stays open while an accept waits for SCA', async () => {
    await patchSettings({ 'upsells.window_min': 0.05 });
    try {
      const offer = await createOffer(stack.app);
      const order = await registerParentOrder(stack.app, { methodRef: 'pm_card_authenticationRequired' });
      const minted = await mintToken(stack.app, offer.id, order.externalId, order.cartId);
      const key = newKey();
      const res = await accept(stack.app, offer.id, key, { token: minted.token, cart_id: order.cartId });
      expect(res.statusCode, res.body).toBe(202);
      await new Promise((r) => setTimeout(r, 6_000));
      const live = await stack.client.workflow.getHandle(`window:${order.externalId}`).describe();
      expect(live.status.name).toBe('RUNNING');
      expect((await getWindow(order.externalId)).json()).toMatchObject({ status: 'open' });

      // The buyer authenticates: the accept finishes, and then the window closes with it in.
      const chargeId = res.json<{ action: { client_secret: string } }>().action.client_secret.replace(/_secret$/, '');
      const approve = await stack.app.inject({ method: 'POST', url: `/sandbox/authenticate/${chargeId}`, payload: { result: 'approve' } });
      expect(approve.statusCode, approve.body).toBe(200);
      const closed = await waitFor(
        () => getWindow(order.externalId),
        (r) => r.json<{ status: string }>().status === 'closed',
        40_000,
      );
      expect(closed.json()).toMatchObject({ status: 'closed', reason: 'timer', accepted: [{ accept_id: key, offer_id: offer.id }] });
      closedWindows.push(order.externalId);
      expect(await chargesFor(key)).toBe(1);
    } finally {
      await patchSettings({ 'upsells.window_min': 15 });
    }
  });

  it('an accept the window registered that never started holds it only until Temporal says so', async () => {
    await patchSettings({ 'upsells.window_min': 0.05 });
    try {
      const offer = await createOffer(stack.app);
      const order = await registerParentOrder(stack.app);
      await mintToken(stack.app, offer.id, order.externalId, order.cartId);
      // What the API does before it starts an accept, for a request that then dies before the start.
      const handle = stack.client.workflow.getHandle(`window:${order.externalId}`);
      const ghost = newKey();
      expect(await handle.executeUpdate(acceptStartingUpdate, { args: [{ key: ghost }] })).toBe('open');
      const started = Date.now();
      // The timer (3 s) has fired; the window waits for the registered accept.
      await new Promise((r) => setTimeout(r, 6_000));
      expect(await handle.query(windowStateQuery)).toMatchObject({ status: 'closing', inFlight: [ghost] });
      expect((await getWindow(order.externalId)).json()).toMatchObject({ status: 'open' });
      const closed = await waitFor(
        () => getWindow(order.externalId),
        (r) => r.json<{ status: string }>().status === 'closed',
        60_000,
      );
      expect(closed.json()).toMatchObject({ status: 'closed', reason: 'timer', accepted: [] });
      // No record and no workflow after NEVER_STARTED_AFTER_MS, asked every RECHECK (10 s).
      expect(Date.now() - started).toBeGreaterThanOrEqual(NEVER_STARTED_AFTER_MS);
      expect(Date.now() - started).toBeLessThan(NEVER_STARTED_AFTER_MS + 25_000);
      closedWindows.push(order.externalId);
    } finally {
      await patchSettings({ 'upsells.window_min': 15 });
    }
  });

  it('validation refuses an accept whose window closed after the API let it through: no burn, no record, no charge', async () => {
    const offer = await createOffer(stack.app);
    const order = await registerParentOrder(stack.app);
    const minted = await mintToken(stack.app, offer.id, order.externalId, order.cartId);
    // The window closes between the API's check and the accept's validation.
    await stack.prisma.upsellWindow.update({ where: { parentExternalId: order.externalId }, data: { status: 'closed', reason: 'timer', closedAt: new Date() } });
    const key = newKey();
    const input = { acceptKey: key, offerId: offer.id, token: minted.token, cartId: order.cartId, fingerprint: requestFingerprint(offer.id, minted.token, order.cartId) };
    const { registry } = buildGateways(stack.config.gateways, { prisma: stack.prisma, publicBaseUrl: stack.config.publicBaseUrl });
    const refused = await validateAcceptRequest({ prisma: stack.prisma, gateways: registry, tokenKeys: stack.config.tokenKeys, now: new Date() }, input).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect((refused as DomainError).code).toBe('window_closed');
    expect(await stack.prisma.burnedToken.count({ where: { jti: minted.jti } })).toBe(0);
    expect(await stack.prisma.accept.count({ where: { idempotencyKey: key } })).toBe(0);
    expect(await stack.prisma.offerClaim.count({ where: { acceptKey: key } })).toBe(0);
  });

  it("an accept validating while its window closes: closing waits for validation's lock, then finds the record and holds", async () => {
    const offer = await createOffer(stack.app);
    const order = await registerParentOrder(stack.app);
    await mintToken(stack.app, offer.id, order.externalId, order.cartId);
    const key = newKey();
    const acts = createWindowActivities({ prisma: stack.prisma, clock: () => new Date(), acceptRun: async () => 'running' });
    let closing: Promise<{ eventId: string } | { heldBy: string[] }> | undefined;
    let settledEarly = false;
    await stack.prisma.$transaction(async (tx) => {
      // What validation does first in its transaction: the window row's share lock.
      expect(await holdWindowOpen(tx, order.externalId)).toBe('open');
      closing = acts.closeWindowUnlessHeld({ parentExternalId: order.externalId, reason: 'timer' });
      void closing.then(() => (settledEarly = true));
      await new Promise((r) => setTimeout(r, 1_000));
      // Closing cannot decide while the lock is held.
      expect(settledEarly).toBe(false);
      // Then the accept's record, committed with the lock.
      await tx.$executeRaw`
        INSERT INTO accepts (idempotency_key, fingerprint, offer_id, cart_id, parent_order_id, status, created_at, updated_at)
        VALUES (${key}, 'fp', ${offer.id}, ${order.cartId}, ${order.id}, 'processing', now(), now())`;
    });
    // Once the lock was released, closing saw the record.
    expect(await closing).toEqual({ heldBy: [key] });
    expect((await getWindow(order.externalId)).json()).toMatchObject({ status: 'open' });
    await stack.prisma.$executeRaw`UPDATE accepts SET status = 'declined', completed_at = now() WHERE idempotency_key = ${key}`;
    expect(await acts.closeWindowUnlessHeld({ parentExternalId: order.externalId, reason: 'timer' })).toMatchObject({ eventId: expect.any(String) as string });
    await stack.client.workflow.getHandle(`window:${order.externalId}`).terminate('test closed its row directly');
  });

  it('closing waits for an accept of the parent whose record is open, and closes once it has ended', async () => {
    const offer = await createOffer(stack.app);
    const order = await registerParentOrder(stack.app);
    const minted = await mintToken(stack.app, offer.id, order.externalId, order.cartId);
    const key = newKey();
    const input = { acceptKey: key, offerId: offer.id, token: minted.token, cartId: order.cartId, fingerprint: requestFingerprint(offer.id, minted.token, order.cartId) };
    const { registry } = buildGateways(stack.config.gateways, { prisma: stack.prisma, publicBaseUrl: stack.config.publicBaseUrl });
    // Validated (its record written) but not ended: the accept is charging.
    await validateAcceptRequest({ prisma: stack.prisma, gateways: registry, tokenKeys: stack.config.tokenKeys, now: new Date() }, input);
    const running = createWindowActivities({ prisma: stack.prisma, clock: () => new Date(), acceptRun: async () => 'running' });
    expect(await running.closeWindowUnlessHeld({ parentExternalId: order.externalId, reason: 'timer' })).toEqual({ heldBy: [key] });
    expect((await getWindow(order.externalId)).json()).toMatchObject({ status: 'open' });
    // Its workflow was terminated without completing the record: it no longer holds the window.
    const terminated = createWindowActivities({ prisma: stack.prisma, clock: () => new Date(), acceptRun: async () => 'ended' });
    expect(await terminated.acceptsInFlight([{ key, since: Date.now() }])).toEqual([]);
    const closed = await terminated.closeWindowUnlessHeld({ parentExternalId: order.externalId, reason: 'timer' });
    expect('eventId' in closed && closed.eventId.startsWith('evt_')).toBe(true);
    expect((await getWindow(order.externalId)).json()).toMatchObject({ status: 'closed', reason: 'timer' });
    // A retry answers the same event.
    expect(await running.closeWindowUnlessHeld({ parentExternalId: order.externalId, reason: 'timer' })).toEqual(closed);
    // The window's own workflow (still open on its 15 min timer) is left to the suite's end.
    await stack.client.workflow.getHandle(`window:${order.externalId}`).terminate('test closed its row directly');
  });

  it('answers 404 for an order without a window', async () => {
    const order = await registerParentOrder(stack.app);
    expect((await getWindow(order.externalId)).statusCode).toBe(404);
    expect((await getWindow('wc-no-such-order')).json()).toMatchObject({ code: 'order_not_found' });
  });

  it("closed windows' histories replay on today's code (funnel ended, timer, held through SCA, held by an accept that never started)", async () => {
    expect(closedWindows.length).toBe(4);
    const histories = [];
    for (const parent of closedWindows) {
      const handle = stack.client.workflow.getHandle(`window:${parent}`);
      await handle.result();
      histories.push({ workflowId: handle.workflowId, history: await handle.fetchHistory() });
    }
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(WORKFLOW_CODE_OPTIONS, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
  });
});
