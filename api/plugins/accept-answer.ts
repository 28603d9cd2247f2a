/**
 * What operations read off an accept request: the key, offer and claimed parent order it came
 * with, and the answer it got. Metrics and logs both use this, so the body is read once.
 */
import type { FastifyInstance, FastifyRequest, FastifySerializerCompiler } from 'fastify';
import { IDEMPOTENCY_KEY_PATTERN } from '../../domain/idempotency.ts';

/** Route templates as the accept routes register them (api/routes/accept.ts). */
export const ACCEPT_ROUTE = '/wp-json/ocart/v1/upsells/:offer_id/accept';
export const ACCEPT_STATUS_ROUTE = '/wp-json/ocart/v1/upsells/accepts/:accept_id';

const ACCEPT_PATH = /^\/wp-json\/ocart\/v1\/upsells\/([A-Za-z0-9_-]{1,64})\/accept(?:\?|$)/;
const STATUS_PATH = /^\/wp-json\/ocart\/v1\/upsells\/accepts\/([^/?]{1,765})(?:\?|$)/;
const LABEL = /^[A-Za-z0-9_\-:.]{1,255}$/;

export interface AcceptAnswer {
  /** the body's status: succeeded, requires_action, declined, rejected, error, processing, expired */
  outcome: string;
  /** the error or decline code, when there is one */
  code?: string;
  replayed: boolean;
}

/**
 * Log bindings for an accept from the raw request, before routing: the idempotency key (which is
 * also the workflow id) and the offer. Values that do not look like ours are left out, so a
 * hostile header cannot write arbitrary text into the logs.
 */
export function acceptBindingsFromRaw(url: string | undefined, headers: Record<string, string | string[] | undefined>): Record<string, string> {
  if (!url) return {};
  const accept = ACCEPT_PATH.exec(url);
  if (accept) {
    const key = headers['x-idempotency-key'];
    const bindings: Record<string, string> = { offer_id: accept[1]! };
    if (typeof key === 'string' && IDEMPOTENCY_KEY_PATTERN.test(key)) Object.assign(bindings, { accept_id: key, workflow_id: key });
    return bindings;
  }
  const status = STATUS_PATH.exec(url);
  if (status) {
    let key: string;
    try {
      key = decodeURIComponent(status[1]!);
    } catch {
      return {};
    }
    return IDEMPOTENCY_KEY_PATTERN.test(key) ? { accept_id: key, workflow_id: key } : {};
  }
  return {};
}

/**
 * The parent order and cart a one-click token claims, read without verifying it: a log label
 * only. The worker verifies the token and labels its own lines with the verified parent.
 */
export function claimedParent(body: unknown): { parent_order_id?: string; cart_id?: string } {
  if (!body || typeof body !== 'object') return {};
  const { token, cart_id: cartId } = body as Record<string, unknown>;
  const out: { parent_order_id?: string; cart_id?: string } = {};
  if (typeof cartId === 'string' && LABEL.test(cartId)) out.cart_id = cartId;
  if (typeof token !== 'string' || token.length > 4096) return out;
  const payload = token.split('.')[0] ?? '';
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const ord = claims && typeof claims === 'object' ? (claims as Record<string, unknown>).ord : undefined;
    if (typeof ord === 'string' && LABEL.test(ord)) out.parent_order_id = ord;
  } catch {
    // not a token: the accept answers token_malformed, and the line has no parent
  }
  return out;
}

/**
 * The serializer of the two accept routes only: their bodies go out exactly as recorded (a replay
 * answers the bytes the first answer had), so no schema reorders or drops a field of them. Every
 * other route keeps Fastify's schema serializer, which sends only what its response schema declares.
 */
export const recordedBodySerializer: FastifySerializerCompiler<unknown> = () => (data) => JSON.stringify(data);

const answers = new WeakMap<FastifyRequest, AcceptAnswer>();

/** The answer an accept or status request got; undefined for other routes and before onSend. */
export function acceptAnswerOf(request: FastifyRequest): AcceptAnswer | undefined {
  return answers.get(request);
}

const CODE = /^[a-z][a-z0-9_]{0,63}$/;

function readAnswer(payload: unknown): { outcome?: string; code?: string } {
  if (typeof payload !== 'string' || !payload.startsWith('{')) return {};
  try {
    const body = JSON.parse(payload) as Record<string, unknown>;
    const outcome = typeof body.status === 'string' && CODE.test(body.status) ? body.status : undefined;
    const code = typeof body.code === 'string' ? (CODE.test(body.code) ? body.code : 'other') : undefined;
    return { ...(outcome ? { outcome } : {}), ...(code ? { code } : {}) };
  } catch {
    return {};
  }
}

/** Reads each accept answer as it is sent; the body itself goes out untouched. */
export function registerAcceptAnswers(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    if (route !== ACCEPT_ROUTE && route !== ACCEPT_STATUS_ROUTE) return payload;
    const { outcome, code } = readAnswer(payload);
    answers.set(request, {
      outcome: outcome ?? (reply.statusCode >= 500 ? 'error' : reply.statusCode >= 400 ? 'rejected' : 'unknown'),
      ...(code ? { code } : {}),
      replayed: reply.getHeader('idempotent-replayed') === 'true',
    });
    return payload;
  });
}
