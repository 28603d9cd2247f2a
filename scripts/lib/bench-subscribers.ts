/**
 * The benchmark's event subscribers: HTTP endpoints in the bench process that answer 204 to every
 * POST and count them, registered as the shop's active subscribers, so each accepted event is
 * signed and POSTed as it would be for a real shop.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Db } from '../../db/client.ts';

export interface BenchSubscribers {
  /** POSTs received so far, all subscribers together */
  received(): number;
  stop(): Promise<void>;
}

export async function startBenchSubscribers(prisma: Db, count: number): Promise<BenchSubscribers> {
  let received = 0;
  const servers: Server[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received++;
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    await prisma.eventSubscriber.create({ data: { id: `sub_bench_${randomBytes(6).toString('hex')}`, url, secret: randomBytes(24).toString('hex') } });
  }
  return {
    received: () => received,
    async stop() {
      await prisma.eventSubscriber.updateMany({ where: { id: { startsWith: 'sub_bench_' } }, data: { active: false } });
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}
