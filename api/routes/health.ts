import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../app.ts';

export const healthRoutes: FastifyPluginAsync<AppDeps> = async (app, { prisma, flows }) => {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const check = async (fn: () => Promise<unknown>) =>
      Promise.race([fn().then(() => 'ok' as const), new Promise<'down'>((r) => setTimeout(() => r('down'), 2000))]).catch(() => 'down' as const);
    const [database, temporal] = await Promise.all([check(() => prisma.$queryRaw`SELECT 1`), check(() => flows.ping())]);
    const ready = database === 'ok' && temporal === 'ok';
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', database, temporal });
  });
};
