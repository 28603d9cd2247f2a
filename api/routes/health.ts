import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { AppDeps } from '../app.ts';
import { pingDatabase } from '../../db/client.ts';

const Check = Type.Union([Type.Literal('ok'), Type.Literal('down')]);
const Readiness = Type.Object({ status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]), database: Check, temporal: Check });

export const healthRoutes: FastifyPluginAsync<AppDeps> = async (app, { prisma, flows }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        operationId: 'healthz',
        summary: 'Liveness: the process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' }),
  );
  const readyzSchema = {
    tags: ['operations'],
    operationId: 'readyz',
    summary: 'Readiness: Temporal and the database answer (within 2 s each)',
    response: {
      200: Type.Object(Readiness.properties, { description: 'Ready' }),
      503: Type.Object(Readiness.properties, { description: 'Not ready: take this instance out of rotation' }),
    },
  };
  app.get('/readyz', { schema: readyzSchema }, async (_request, reply) => {
    const check = async (fn: () => Promise<unknown>) =>
      Promise.race([fn().then(() => 'ok' as const), new Promise<'down'>((r) => setTimeout(() => r('down'), 2000))]).catch(() => 'down' as const);
    const [database, temporal] = await Promise.all([check(() => pingDatabase(prisma)), check(() => flows.ping())]);
    const ready = database === 'ok' && temporal === 'ok';
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', database, temporal });
  });
};
