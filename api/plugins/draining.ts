/**
 * Graceful shutdown, the part Fastify leaves open: on close it stops listening, refuses new
 * requests with 503 and closes idle keep-alive connections, but a connection that is busy at that
 * moment would stay open after its response until the client's keep-alive ran out, and hold the
 * close up. Responses sent while closing say `Connection: close`, so each socket ends with its
 * request.
 */
import type { FastifyInstance } from 'fastify';

export function registerConnectionDraining(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
}
