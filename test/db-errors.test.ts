/**
 * After a charge, the order write refunds only on a database error that repeats on every attempt.
 * These errors come from a real PostgreSQL through the same Prisma client and adapter the worker
 * uses, so a change in how the adapter wraps them shows up here and not as a refund in production.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrisma, isDatabaseUnavailable, isPermanentDbError, isUniqueViolation, sqlState, type Db } from '../db/client.ts';
import { ADMIN_URL, createEmptyDatabase, type FreshDatabase } from '../scripts/lib/fresh-db.ts';

let admin: pg.Client;
let database: FreshDatabase;
let name: string;
let prisma: Db;

beforeAll(async () => {
  database = await createEmptyDatabase('ocart_dberr');
  name = database.name;
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  prisma = createPrisma(database.url, 2);
  await prisma.$executeRawUnsafe('CREATE TABLE parent (id int PRIMARY KEY)');
  await prisma.$executeRawUnsafe('CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent(id), amount int NOT NULL CHECK (amount > 0))');
  await prisma.$executeRawUnsafe('INSERT INTO parent VALUES (1)');
});
afterAll(async () => {
  await prisma?.$disconnect();
  await admin?.end();
  await database?.drop();
});

const failure = (work: () => Promise<unknown>) =>
  work().then(
    () => expect.fail('the query should have failed'),
    (err: unknown) => err,
  );

describe('database errors after a charge', () => {
  it('data and constraint errors are permanent: the same write fails every time', async () => {
    const cases = [
      ['23514', () => prisma.$executeRaw`INSERT INTO child VALUES (1, 1, -5)`],
      ['23503', () => prisma.$executeRaw`INSERT INTO child VALUES (2, 99, 5)`],
      ['23502', () => prisma.$executeRaw`INSERT INTO child VALUES (3, NULL, 5)`],
      ['22P02', () => prisma.$executeRawUnsafe(`INSERT INTO child VALUES (4, 1, 'lots')`)],
      ['P0001', () => prisma.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'refused by a trigger'; END $$`)],
    ] as const;
    for (const [state, work] of cases) {
      const err = await failure(work);
      expect(sqlState(err), String(err)).toBe(state);
      expect(isPermanentDbError(err)).toBe(true);
      expect(isDatabaseUnavailable(err)).toBe(false);
    }
    // The same inside an interactive transaction, where the adapter's error is not wrapped in P2010
    // (and names some codes with kinds of its own).
    for (const [state, sql] of [
      ['23514', 'INSERT INTO child VALUES (5, 1, 0)'],
      ['23503', 'INSERT INTO child VALUES (6, 99, 5)'],
      ['23502', 'INSERT INTO child VALUES (7, NULL, 5)'],
    ] as const) {
      const inTx = await failure(() => prisma.$transaction(async (tx) => tx.$executeRawUnsafe(sql)));
      expect(sqlState(inTx), String(inTx)).toBe(state);
      expect(isPermanentDbError(inTx)).toBe(true);
    }
  });

  it("the same on the pool without Prisma (db/sql.ts, every accept's queries), alone and in a transaction", async () => {
    for (const [state, work] of [
      ['23514', () => prisma.sql.$executeRaw`INSERT INTO child VALUES (11, 1, -5)`],
      ['23503', () => prisma.sql.$executeRaw`INSERT INTO child VALUES (12, 99, 5)`],
      ['23502', () => prisma.sql.$transaction(async (tx) => tx.$executeRaw`INSERT INTO child VALUES (13, NULL, 5)`)],
      ['22P02', () => prisma.sql.$executeRaw`INSERT INTO child VALUES (14, 1, ${'lots'})`],
    ] as const) {
      const err = await failure(work);
      expect(sqlState(err), String(err)).toBe(state);
      expect(isPermanentDbError(err)).toBe(true);
      expect(isDatabaseUnavailable(err)).toBe(false);
    }
    const duplicate = await failure(() => prisma.sql.$transaction(async (tx) => tx.$executeRaw`INSERT INTO parent VALUES (1)`));
    expect(isUniqueViolation(duplicate)).toBe(true);
    expect(isPermanentDbError(duplicate)).toBe(false);
  });

  it('a unique violation is retried: a concurrent attempt already wrote the row', async () => {
    const err = await failure(() => prisma.$executeRaw`INSERT INTO parent VALUES (1)`);
    expect(isUniqueViolation(err)).toBe(true);
    expect(isPermanentDbError(err)).toBe(false);
    expect(isDatabaseUnavailable(err)).toBe(false);
  });

  it('a database that refuses or drops connections is not permanent (the outage that once refunded paid accepts)', async () => {
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    try {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      await new Promise((r) => setTimeout(r, 200));
      const refused = await failure(() => prisma.$queryRaw`SELECT 1`);
      expect(sqlState(refused)).toBe('55000');
      expect(isPermanentDbError(refused)).toBe(false);
      // The API says it as an outage (503 temporarily_unavailable), never as a 500.
      expect(isDatabaseUnavailable(refused)).toBe(true);
      const refusedInTx = await failure(() => prisma.$transaction(async (tx) => tx.$queryRaw`SELECT 1`));
      expect(isPermanentDbError(refusedInTx)).toBe(false);
      expect(isDatabaseUnavailable(refusedInTx)).toBe(true);
      for (const work of [() => prisma.sql.$queryRaw`SELECT 1`, () => prisma.sql.$transaction(async (tx) => tx.$queryRaw`SELECT 1`)]) {
        const onPool = await failure(work);
        expect(sqlState(onPool)).toBe('55000');
        expect(isPermanentDbError(onPool)).toBe(false);
        expect(isDatabaseUnavailable(onPool)).toBe(true);
      }
    } finally {
      await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    }
    // And the same client works again once the database is back.
    expect(await prisma.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);
    expect(await prisma.sql.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);
  });

  it('errors that are not from the database at all are not permanent', () => {
    expect(isPermanentDbError(new Error('socket hang up'))).toBe(false);
    expect(isPermanentDbError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(false);
    const brokenPipe = Object.assign(new Error('write EPIPE'), { cause: Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }) });
    expect(sqlState(brokenPipe)).toBeUndefined();
    expect(isDatabaseUnavailable(brokenPipe)).toBe(true);
    expect(isDatabaseUnavailable(new Error('socket hang up'))).toBe(false);
    // pg's own words for a connection lost mid-query, which carry no code.
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isPermanentDbError(new Error('Connection terminated unexpectedly'))).toBe(false);
  });
});
