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
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  // P2002 from model queries; raw queries report PostgreSQL's own code (23505) inside P2010.
  return err.code === 'P2002' || (err.code === 'P2010' && /\b23505\b/.test(err.message));
}

/**
 * True when a database error may pass by itself (connection lost, server restarting, pool
 * exhausted): worth retrying. Constraint, data and logic errors are not.
 */
export function isTransientDbError(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    return ['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2034'].includes(err.code) || /ECONN|terminat|closed|timeout/i.test(err.message);
  }
  if (err instanceof Prisma.PrismaClientInitializationError || err instanceof Prisma.PrismaClientRustPanicError) return true;
  const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? ''} ${String((err as { code?: unknown })?.code ?? '')}`;
  return /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Connection terminated|connection.*(closed|ended|lost)|timeout|57P0\d|08\d{3}|53300|40001|40P01/i.test(text);
}
