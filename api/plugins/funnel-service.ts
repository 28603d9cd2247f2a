/**
 * Funnels in the API: minting step tokens, the `next` step an accept or decline answers (minted
 * once per idempotency key and stored, so a replay answers the same token), and the parent's
 * post-purchase window (registered before an accept starts, told of every answer). The accept
 * workflow knows none of this: `next` is added to its answer on the way out.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import {
  countFunnelAccepts,
  findFunnel,
  findFunnelAnswer,
  findFunnelParent,
  findWindow,
  funnelDefinition,
  funnelOffers,
  noteFunnelAnswer,
  openWindowRow,
  settleFunnelAnswer,
  offerSlots,
  takenOffers,
  type FunnelParent,
  type WindowRow,
} from '../../db/funnels.ts';
import { findOffer } from '../../db/offers.ts';
import { findOrderRef } from '../../db/orders.ts';
import type { FunnelNext } from '../../contract/funnels.ts';
import type { Funnel } from '../../db/generated/client.ts';
import { loadSettings } from '../../db/settings-store.ts';
import { windowContents } from '../../db/windows.ts';
import { DomainError } from '../../domain/errors.ts';
import { type FunnelStep, type NextStepContext, type StepOutcome, entryStep, funnelLive, nextStep } from '../../domain/funnel.ts';
import type { UpsellSettings } from '../../domain/settings.ts';
import { type TokenClaims, type TokenFunnelStep, signToken } from '../../domain/token.ts';
import type { AppDeps } from '../app.ts';
import { ACCEPT_ROUTE, ACCEPT_STATUS_ROUTE } from './accept-answer.ts';
import type { WindowFlows } from './funnel-window.ts';

export type NextBody = FunnelNext;

export interface StepToken {
  token: string;
  jti: string;
  expires_at: string;
  offer_id: string;
  step_id: string;
  name: string;
  amount: { value: number; currency: string };
}

/** How long an accept waits for its window to register it: a window that cannot answer in this time has no worker. */
const REGISTER_WAIT_MS = 10_000;

type Deps = Pick<AppDeps, 'prisma' | 'config' | 'clock'> & { windows?: WindowFlows | undefined };

/** Reads a token's claims without checking them: only for tokens the door already verified. */
function unverifiedClaims(token: unknown): Partial<TokenClaims> | null {
  if (typeof token !== 'string' || token.length > 4096) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8'));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

export function createFunnelService(deps: Deps) {
  const { prisma, config, clock, windows } = deps;
  /** Accept requests that passed beforeAccept: only their answers are told to a window. */
  const registered = new WeakSet<FastifyRequest>();

  async function context(funnel: Funnel, parent: FunnelParent, acceptsSoFar: number): Promise<NextStepContext> {
    const def = funnelDefinition(funnel);
    const offers = await funnelOffers(
      prisma,
      def.steps.map((s) => s.offer_id),
    );
    const taken = await takenOffers(prisma, parent.id, offers, await offerSlots(prisma, [...offers.keys()]));
    return { now: clock(), parent: { totalAmount: parent.totalAmount, productIds: parent.productIds }, offers, acceptsSoFar, taken };
  }

  /** Notes which funnel step a key answers (once; a replay finds the first note). */
  async function noteStep(key: string, kind: 'accept' | 'decline', claims: TokenClaims & { fun: string; stp: string }): Promise<void> {
    await noteFunnelAnswer(
      prisma,
      { idempotencyKey: key, kind, funnelId: claims.fun, stepId: claims.stp, offerId: claims.off, parentExternalId: claims.ord, cartId: claims.cart },
      clock(),
    );
  }

  /** Opens the parent's window with its first token; a closed window takes no more tokens. */
  async function openWindow(parentExternalId: string, settings: UpsellSettings): Promise<void> {
    if (!windows) return;
    let row = await findWindow(prisma, parentExternalId);
    if (row?.status === 'closed') throw new DomainError('window_closed', "this order's upsell window has closed");
    row ??= await openWindowRow(prisma, parentExternalId, new Date(clock().getTime() + settings['upsells.window_min'] * 60_000), clock());
    await windows.open(parentExternalId, row.closes_at);
  }

  async function mintStep(funnel: Funnel, step: FunnelStep, parent: FunnelParent, cartId: string, settings: UpsellSettings): Promise<StepToken> {
    const offer = await findOffer(prisma, step.offer_id);
    if (!offer) throw new DomainError('offer_not_found', 'the step names an offer that no longer exists');
    await openWindow(parent.externalId, settings);
    const amount = { value: offer.amount, currency: offer.currency };
    const { token, claims } = signToken(
      { offerId: offer.id, orderId: parent.externalId, cartId, price: amount, funnel: { funnelId: funnel.id, stepId: step.id } },
      config.tokenKeys,
      clock(),
      settings['upsells.one_click_token_ttl_min'],
    );
    return { token, jti: claims.jti, expires_at: new Date(claims.exp * 1000).toISOString(), offer_id: offer.id, step_id: step.id, name: offer.name, amount };
  }

  /** The `next` after `key`'s step ended with `outcome`: computed and minted once, then always the stored one. */
  async function settleNext(key: string, outcome: StepOutcome, recorded: string, replayLog?: FastifyBaseLogger): Promise<NextBody | null> {
    const row = await findFunnelAnswer(prisma, key);
    if (!row) return null;
    if (row.answeredAt) {
      // A buyer's replay of the step that ended the funnel tells the window again (not waited on): the
      // first answer's signal may have been lost with its request (the API restarted). The window
      // takes it once; a status poll (no replayLog) does not send it.
      if (row.next === null && replayLog && windows) {
        void windows.signal(row.parentExternalId, { kind: 'funnel_ended', key }).catch((err: unknown) => replayLog.warn({ err }, 'window signal failed'));
      }
      return row.next;
    }
    let next: NextBody | null = null;
    const [funnel, parent, settings] = await Promise.all([findFunnel(prisma, row.funnelId), findFunnelParent(prisma, row.parentExternalId), loadSettings(prisma)]);
    if (funnel && parent) {
      const others = await countFunnelAccepts(prisma, funnel.id, parent.externalId);
      const step = nextStep(funnelDefinition(funnel), row.stepId, outcome, await context(funnel, parent, others + (outcome === 'accepted' ? 1 : 0)));
      if (step) {
        try {
          const minted = await mintStep(funnel, step, parent, row.cartId, settings);
          next = { step_id: minted.step_id, offer_id: minted.offer_id, name: minted.name, amount: minted.amount, token: minted.token };
        } catch (err) {
          // A closed window or a vanished offer ends the funnel here.
          if (!(err instanceof DomainError)) throw err;
        }
      }
    }
    const stored = await settleFunnelAnswer(prisma, key, recorded, next, clock());
    if (stored === null) await windows?.signal(row.parentExternalId, { kind: 'funnel_ended', key });
    return stored;
  }

  return {
    /** The funnel step a token minted for this offer runs: the one named, or the default funnel's step for the offer. */
    async tokenFunnel(offerId: string, named: { funnel_id?: string | undefined; step_id?: string | undefined }, settings: UpsellSettings): Promise<TokenFunnelStep | null> {
      if (named.funnel_id === undefined && named.step_id === undefined) {
        const id = settings['upsells.default_funnel_id'];
        const funnel = id ? await findFunnel(prisma, id) : null;
        if (!funnel || !funnelLive(funnelDefinition(funnel), clock())) return null;
        const steps = funnelDefinition(funnel).steps.filter((s) => s.offer_id === offerId);
        const step = steps.find((s) => s.id === funnel.entry) ?? steps[0];
        return step ? { funnelId: funnel.id, stepId: step.id } : null;
      }
      if (named.funnel_id === undefined || named.step_id === undefined) throw new DomainError('invalid_request', 'funnel_id and step_id go together');
      const funnel = await findFunnel(prisma, named.funnel_id);
      if (!funnel) throw new DomainError('funnel_not_found', 'no such funnel');
      const step = funnelDefinition(funnel).steps.find((s) => s.id === named.step_id);
      if (!step) throw new DomainError('invalid_request', `the funnel has no step "${named.step_id}"`);
      if (step.offer_id !== offerId) throw new DomainError('invalid_request', `step "${step.id}" is for offer "${step.offer_id}"`);
      return { funnelId: funnel.id, stepId: step.id };
    },

    openWindow,

    async mintEntry(funnelId: string, orderId: string, cartId: string): Promise<StepToken> {
      const [funnel, parent, settings] = await Promise.all([findFunnel(prisma, funnelId), findFunnelParent(prisma, orderId), loadSettings(prisma)]);
      if (!funnel) throw new DomainError('funnel_not_found', 'no such funnel');
      if (!parent) throw new DomainError('order_not_found', 'no such order');
      const step = entryStep(funnelDefinition(funnel), await context(funnel, parent, await countFunnelAccepts(prisma, funnel.id, parent.externalId)));
      if (!step) throw new DomainError('offer_ineligible', 'no step of this funnel is open to this order now');
      return mintStep(funnel, step, parent, cartId, settings);
    },

    /** The parent's window row, read ahead for beforeAccept (null without window flows: nothing is read). */
    readWindow(parentExternalId: string): Promise<WindowRow | null> {
      return windows ? findWindow(prisma.sql, parentExternalId) : Promise.resolve(null);
    },

    /**
     * Just before an accept starts: notes its funnel step, and registers it with the parent's window
     * (409 window_closed once that has closed: nothing is started or charged). `claims` are the
     * accept's token's, as the route's door verified them for this offer and cart. `windowRow` is
     * readWindow's answer for the token's order, which the caller reads in parallel with its own reads;
     * a row read a moment early is safe, since a window only goes from open to closed and the window's
     * own run has the last word (acceptStarting).
     */
    async beforeAccept(request: FastifyRequest, acceptKey: string, claims: TokenClaims, windowRow: Promise<WindowRow | null>): Promise<void> {
      if (claims.fun && claims.stp) {
        await noteStep(acceptKey, 'accept', { ...claims, fun: claims.fun, stp: claims.stp });
      }
      if (!windows) return;
      const row = await windowRow;
      if (!row) return;
      const closed = () => new DomainError('window_closed', "this order's upsell window has closed: nothing was charged");
      if (row.status === 'closed') throw closed();
      const answer = await windows.acceptStarting(claims.ord, acceptKey, Math.min(config.acceptWaitMs, REGISTER_WAIT_MS));
      if (answer === 'closed') throw closed();
      // No window runs: it may have just closed (its row is closed before its run ends), or never started.
      if (answer === 'none' && (await findWindow(prisma.sql, claims.ord))?.status === 'closed') throw closed();
      // Never start an accept the window has not seen: it could close under it.
      if (answer === 'unknown') throw new DomainError('temporarily_unavailable', 'the accept could not be started yet; retry with the same key');
      registered.add(request);
    },

    /** An accept's answer on its way out: tell the window, and add `next` to a success or a decline. */
    async onAcceptAnswer(request: FastifyRequest, payload: string): Promise<string> {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(payload) as Record<string, unknown>;
      } catch {
        return payload;
      }
      const status = body.status;
      const key = typeof body.accept_id === 'string' ? body.accept_id : null;
      if (!key || typeof status !== 'string') return payload;
      const final = status === 'succeeded' || status === 'declined';
      // On the accept route the token says whether there is a funnel step; the status route has no token.
      const fromToken = request.routeOptions.url === ACCEPT_ROUTE ? unverifiedClaims((request.body as { token?: unknown } | undefined)?.token) : null;
      const row = final && (fromToken ? fromToken.fun : true) ? await findFunnelAnswer(prisma, key) : null;
      // Only answers of accepts the window registered, or found by their funnel step: a forged token's
      // refusal never reaches Temporal.
      const parent = registered.has(request) ? fromToken?.ord : row?.parentExternalId;
      if (windows && typeof parent === 'string' && status !== 'processing') {
        const event = status === 'requires_action' ? ({ kind: 'sca_waiting', key } as const) : ({ kind: 'accept_answered', key, outcome: status } as const);
        // Not waited on: the window asks the database before it closes, so a lost signal only delays it.
        void windows.signal(parent, event).catch((err: unknown) => request.log.warn({ err }, 'window signal failed'));
      }
      if (!row || !final) return payload;
      const next = await settleNext(key, status === 'succeeded' ? 'accepted' : 'payment_declined', status, fromToken ? request.log : undefined);
      return JSON.stringify({ ...body, next });
    },

    /** After a "no thanks" is recorded: the downsell step, if any, and the window told. */
    async afterDecline(key: string, claims: TokenClaims, log: FastifyBaseLogger): Promise<NextBody | null> {
      let next: NextBody | null = null;
      if (claims.fun && claims.stp) {
        await noteStep(key, 'decline', { ...claims, fun: claims.fun, stp: claims.stp });
        next = await settleNext(key, 'declined', 'declined_by_buyer', log);
      }
      await windows?.signal(claims.ord, { kind: 'declined', key });
      return next;
    },

    async assertWindowOpen(parentExternalId: string): Promise<void> {
      const row = windows ? await findWindow(prisma, parentExternalId) : null;
      if (row?.status === 'closed') throw new DomainError('window_closed', "this order's upsell window has closed");
    },

    async windowState(externalId: string) {
      const row = await findWindow(prisma, externalId);
      if (!row) {
        const order = await findOrderRef(prisma, externalId);
        throw order ? new DomainError('not_found', 'no window: no token was minted for this order') : new DomainError('order_not_found', 'no such order');
      }
      const contents = await windowContents(prisma, externalId);
      return {
        status: row.status === 'closed' ? ('closed' as const) : ('open' as const),
        closes_at: row.closes_at.toISOString(),
        accepted: contents.accepted,
        declined: contents.declined,
        ...(row.reason ? { reason: row.reason } : {}),
      };
    },
  };
}

export type FunnelService = ReturnType<typeof createFunnelService>;

declare module 'fastify' {
  interface FastifyInstance {
    /** set by registerFunnels on the root app, so every plugin sees it */
    funnelService?: FunnelService;
  }
}

/** The app's funnel service (registered by registerFunnels). */
export function funnelService(app: FastifyInstance): FunnelService {
  if (!app.funnelService) throw new Error('registerFunnels was not called for this app');
  return app.funnelService;
}

/** Adds the funnel service and the hook that puts `next` on the accept answers. Register before the routes. */
export function registerFunnels(app: FastifyInstance, deps: Deps): FunnelService {
  const service = createFunnelService(deps);
  app.decorate('funnelService', service);
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    if ((route !== ACCEPT_ROUTE && route !== ACCEPT_STATUS_ROUTE) || typeof payload !== 'string' || !payload.startsWith('{')) return payload;
    if (reply.statusCode >= 500) return payload;
    try {
      return await service.onAcceptAnswer(request, payload);
    } catch (err) {
      // The accept's own answer stands; only the funnel step after it is missing.
      request.log.warn({ err }, 'funnel next step failed');
      return payload;
    }
  });
  return service;
}
