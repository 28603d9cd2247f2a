import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { Prisma, PrismaClient } from './generated/client.ts';
import { createPgPool } from './pg-pool.ts';
import { pgSql, type SqlDb } from './sql.ts';

export { Prisma, PrismaClient };
/**
 * Prisma's client, and `sql`: raw SQL on the same pool without Prisma's runtime, for the queries
 * every accept makes (db/sql.ts).
 */
export type Db = PrismaClient & { readonly sql: SqlDb };
/** A client or an interactive transaction's client. */
export type DbTx = Prisma.TransactionClient;

/** A client on a pool of its own: `$disconnect()` ends the pool too, so a process that disconnected can exit. */
export function createPrisma(databaseUrl: string, poolSize = 10): Db {
  const pool = createPgPool(databaseUrl, poolSize);
  return Object.assign(new PrismaClient({ adapter: new PrismaPg(pool, { disposeExternalPool: true }) }), { sql: pgSql(pool) });
}

/**
 * PostgreSQL's SQLSTATE behind an error, however the driver adapter wrapped it: a raw query's
 * P2010 carries it in meta, a transaction's DriverAdapterError in its cause.
 */
export function sqlState(err: unknown): string | undefined {
  type AdapterCause = { kind?: unknown; originalCode?: unknown; code?: unknown };
  const e = err as { meta?: { driverAdapterError?: { cause?: AdapterCause } }; cause?: AdapterCause; message?: unknown };
  // A query on the pool itself (db/sql.ts): pg's own error carries the SQLSTATE.
  if (err instanceof pg.DatabaseError) return err.code;
  const cause = e?.meta?.driverAdapterError?.cause ?? e?.cause;
  // originalCode is set only for errors from the PostgreSQL server, whatever kind the adapter gave
  // them (it names some: null constraint, foreign key, too long); a Node socket error's code (EPIPE)
  // is no SQLSTATE.
  const code = cause?.originalCode ?? (cause?.kind === 'postgres' ? cause.code : undefined);
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  const inMessage = typeof e?.message === 'string' ? /Code: `([0-9A-Z]{5})`/.exec(e.message) : null;
  return inMessage?.[1];
}

/** True when a unique constraint refused the write (Prisma's P2002, or SQLSTATE 23505 from raw SQL). */
export function isUniqueViolation(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') return true;
  return sqlState(err) === '23505';
}

// Prisma's request errors that describe the data itself (too long, missing, out of range, a
// broken relation): the same write fails the same way every time.
const PRISMA_DATA_ERRORS = new Set(['P2000', 'P2003', 'P2004', 'P2005', 'P2006', 'P2007', 'P2011', 'P2012', 'P2013', 'P2014', 'P2019', 'P2020', 'P2023', 'P2025']);

/**
 * True only when a database error is known to repeat on every attempt: a data exception
 * (SQLSTATE class 22), an integrity violation other than a unique one (class 23), a refusal
 * raised on purpose by a trigger (P0001), or a query Prisma refuses to build. Everything else
 * (connections refused, lost or not accepted yet, server restarting, pool exhausted,
 * serialization failures, codes we have never seen) may pass, so it is retried. After a charge the cost of a wrong "permanent" is a refund the buyer did not
 * ask for; the cost of a wrong "transient" is a wait.
 */
export function isPermanentDbError(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientValidationError) return true;
  if (isUniqueViolation(err)) return false;
  const state = sqlState(err);
  if (state) return state.startsWith('22') || state.startsWith('23') || state === 'P0001';
  return err instanceof Prisma.PrismaClientKnownRequestError && PRISMA_DATA_ERRORS.has(err.code);
}

/** The readiness probe's round trip. */
export async function pingDatabase(db: Db): Promise<void> {
  await db.$executeRaw`SELECT 1`;
}

// Connection-level SQLSTATEs: the server refuses or drops connections (class 08, shutdown 57P01-03,
// "not accepting connections" 55000, too many connections 53300).
const UNAVAILABLE_STATES = new Set(['55000', '57P01', '57P02', '57P03', '53300']);
const PG_CONNECTION_LOST = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * True when the database could not be reached or dropped the connection: an outage, not an answer
 * about the data. The API says it as 503 temporarily_unavailable (retry with the same key).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientInitializationError) return true;
  if (err instanceof Prisma.PrismaClientKnownRequestError && ['P1001', 'P1002', 'P1008', 'P1017', 'P2024'].includes(err.code)) return true;
  const state = sqlState(err);
  if (state) return state.startsWith('08') || UNAVAILABLE_STATES.has(state);
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return true;
    // pg's own words when a connection drops or cannot be had (db/sql.ts queries): no code to go by.
    if (e instanceof Error && PG_CONNECTION_LOST.test(e.message)) return true;
  }
  return false;
}
