/**
 * A pass-through HTTP proxy in front of the Stripe test server that can hold a PaymentIntent create
 * in flight: the request reaches "Stripe" only after `ms`, whatever the client did meanwhile (an
 * SDK that timed out and gave up does not stop Stripe from creating the charge). While it is held,
 * any other request with the same Idempotency-Key gets what Stripe answers a concurrent request on
 * a key in use: 409 idempotency_key_in_use, with nothing done. Everything else passes through as
 * is, dropped connections included, so the other scenarios see the server itself.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StripeHoldProxy {
  readonly url: string;
  /** The next PaymentIntent create for each of these accepts (metadata[workflow_id]) is held for `ms`. */
  holdCreates(acceptKeys: readonly string[], ms: number): void;
  /**
   * Every PaymentIntent create for these accepts fails with a 500 in front of Stripe (nothing is
   * made), until `clear`: an accept whose charge never got through.
   */
  failCreates(acceptKeys: readonly string[]): void;
  clear(acceptKeys: readonly string[]): void;
  /** Idempotency keys whose create is held right now. */
  readonly held: number;
  /** Creates that were held and have now been passed on to Stripe (the charge exists from then). */
  readonly released: number;
  /** Requests answered 409 idempotency_key_in_use while their key was held. */
  readonly refusedInUse: number;
  close(): Promise<void>;
}

const CREATE = /^\/v1\/payment_intents\/?$/;

export async function startStripeHoldProxy(upstream: string): Promise<StripeHoldProxy> {
  const target = new URL(upstream);
  /** accept key -> how long its next create is held */
  const toHold = new Map<string, number>();
  const failing = new Set<string>();
  /** Idempotency-Key -> until when it is in use */
  const inUse = new Map<string, number>();
  let released = 0;
  let refusedInUse = 0;

  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse) => {
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } }, (answer) => {
      if (res.destroyed) return answer.resume();
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    // The server dropped the connection (a fault it was told to inject): drop ours too.
    up.on('error', () => res.socket?.destroy());
    up.end(body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const keyHeader = req.headers['idempotency-key'];
      const key = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
      if (key && (inUse.get(key) ?? 0) > Date.now()) {
        refusedInUse++;
        res.writeHead(409, { 'content-type': 'application/json', 'idempotency-key': key });
        res.end(
          JSON.stringify({
            error: {
              type: 'idempotency_error',
              code: 'idempotency_key_in_use',
              message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
              doc_url: 'https://stripe.com/docs/error-codes/idempotency-key-in-use',
            },
          }),
        );
        return;
      }
      const acceptKey = req.method === 'POST' && CREATE.test((req.url ?? '').split('?')[0] ?? '') ? new URLSearchParams(body.toString('utf8')).get('metadata[workflow_id]') : null;
      if (acceptKey && failing.has(acceptKey)) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'api_error', message: 'An unknown error occurred while processing your request.' } }));
        return;
      }
      const ms = acceptKey ? toHold.get(acceptKey) : undefined;
      if (acceptKey && key && ms !== undefined) {
        toHold.delete(acceptKey);
        inUse.set(key, Date.now() + ms);
        setTimeout(() => {
          inUse.delete(key);
          released++;
          forward(req, body, res);
        }, ms);
        return;
      }
      forward(req, body, res);
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    holdCreates(acceptKeys, ms) {
      for (const k of acceptKeys) toHold.set(k, ms);
    },
    failCreates(acceptKeys) {
      for (const k of acceptKeys) failing.add(k);
    },
    clear(acceptKeys) {
      for (const k of acceptKeys) {
        failing.delete(k);
        toHold.delete(k);
      }
    },
    get held() {
      return inUse.size;
    },
    get released() {
      return released;
    },
    get refusedInUse() {
      return refusedInUse;
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
