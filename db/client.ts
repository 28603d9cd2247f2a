import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from './generated/client.ts';
import { createPgPool } from './pg-pool.ts';

export { Prisma, PrismaClient };
export type Db = PrismaClient;
/** A client or an interactive transaction's client. */
export type DbTx = Prisma.TransactionClient;

export function createPrisma(databaseUrl: string, poolSize = 10): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(createPgPool(databaseUrl, poolSize)) });
}

/** True when a unique constraint refused the write (Prisma's P2002). */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}
