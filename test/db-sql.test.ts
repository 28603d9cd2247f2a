/**
 * The hot path's raw SQL on the pool (db/sql.ts) must read and write exactly what Prisma's raw
 * queries did: rows parse the same (UTC timestamps, bigints), and a transaction commits all of its
 * writes or none, and gives its connection back either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrisma, isDatabaseUnavailable, type Db } from '../db/client.ts';
import type { Sql } from '../db/sql.ts';
import { createEmptyDatabase, type FreshDatabase } from '../scripts/lib/fresh-db.ts';

let database: FreshDatabase;
let url: string;
let db: Db;

beforeAll(async () => {
  database = await createEmptyDatabase('ocart_sql');
  url = database.url;
  // One connection: a transaction that kept its connection would make the next query wait forever.
  db = createPrisma(url, 1);
  await db.$executeRawUnsafe('CREATE TABLE t (id int PRIMARY KEY, at timestamp(3), big bigint, doc jsonb, tags text[])');
});
afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

describe('raw SQL on the pool (db/sql.ts)', () => {
  it('reads rows as Prisma does: timestamps in UTC, bigints as bigint, JSON parsed', async () => {
    // Written by Prisma, read back by both: the same values.
    await db.$executeRaw`INSERT INTO t VALUES (1, ${'2026-01-02T03:04:05.678Z'}::timestamp(3), ${'9007199254740993'}::bigint, ${'{"a":[1,2]}'}::jsonb, ${['x', 'y']})`;
    const [viaPrisma] = await db.$queryRaw<unknown[]>`SELECT at, big, doc, tags FROM t WHERE id = 1`;
    const [viaPool] = await db.sql.$queryRaw<unknown[]>`SELECT at, big, doc, tags FROM t WHERE id = ${1}`;
    expect(viaPool).toEqual({ at: new Date('2026-01-02T03:04:05.678Z'), big: 9007199254740993n, doc: { a: [1, 2] }, tags: ['x', 'y'] });
    expect(viaPool).toEqual(viaPrisma);
    // And the other way round: what the pool writes, Prisma reads.
    await db.sql.$executeRaw`INSERT INTO t (id, at) VALUES (${2}, ${'2026-06-30T23:59:59.001Z'}::timestamp(3))`;
    expect(await db.$queryRaw`SELECT at FROM t WHERE id = 2`).toEqual([{ at: new Date('2026-06-30T23:59:59.001Z') }]);
  });

  it('counts the rows a statement changed', async () => {
    await db.sql.$executeRaw`INSERT INTO t (id) VALUES (10), (11), (12)`;
    expect(await db.sql.$executeRaw`UPDATE t SET big = 7 WHERE id >= ${10}`).toBe(3);
    expect(await db.sql.$executeRaw`DELETE FROM t WHERE id = ${999}`).toBe(0);
  });

  it('a value is always a parameter, never SQL', async () => {
    const hostile = "x'); DROP TABLE t; --";
    expect(await db.sql.$queryRaw`SELECT ${hostile}::text AS v`).toEqual([{ v: hostile }]);
    expect(await db.sql.$queryRaw`SELECT count(*)::int AS n FROM t`).toEqual([{ n: expect.any(Number) as number }]);
  });

  it('a transaction commits every write, or none when its work throws, and frees its connection either way', async () => {
    const answer = await db.sql.$transaction(async (tx) => {
      await tx.$executeRaw`INSERT INTO t (id) VALUES (${20})`;
      await tx.$executeRaw`INSERT INTO t (id) VALUES (${21})`;
      return 'done';
    });
    expect(answer).toBe('done');
    for (let i = 0; i < 3; i++) {
      const refused = await db.sql
        .$transaction(async (tx) => {
          await tx.$executeRaw`INSERT INTO t (id) VALUES (${30 + i})`;
          throw new Error('refused after the write');
        })
        .then(
          () => null,
          (err: Error) => err.message,
        );
      expect(refused).toBe('refused after the write');
    }
    // A statement the database refuses rolls back the writes before it too.
    await expect(
      db.sql.$transaction(async (tx) => {
        await tx.$executeRaw`INSERT INTO t (id) VALUES (${40})`;
        await tx.$executeRaw`INSERT INTO t (id) VALUES (${20})`;
      }),
    ).rejects.toThrow(/duplicate key/);
    // With a pool of one, these reads would hang if any transaction had kept the connection.
    const ids = await db.sql.$queryRaw<Array<{ id: number }>>`SELECT id FROM t WHERE id >= 20 ORDER BY id`;
    expect(ids.map((r) => r.id)).toEqual([20, 21]);
  });

  it('a connection lost inside a transaction fails that transaction, not the process, and the pool goes on', async () => {
    const other = createPrisma(url, 1);
    try {
      const outcome = await db.sql
        .$transaction(async (tx) => {
          const pid = (await tx.$queryRaw<Array<{ pid: number }>>`SELECT pg_backend_pid() AS pid`)[0]!.pid;
          await other.sql.$queryRaw`SELECT pg_terminate_backend(${pid}::int)`;
          // Idle in the transaction while the connection goes: its 'error' event fires now.
          await new Promise((r) => setTimeout(r, 300));
          await tx.$executeRaw`INSERT INTO t (id) VALUES (${60})`;
          return 'committed';
        })
        .catch((err: Error) => err);
      expect(outcome).toBeInstanceOf(Error);
      expect(isDatabaseUnavailable(outcome)).toBe(true);
      // The dead connection was not given back: the next query gets a new one.
      expect(await db.sql.$queryRaw`SELECT count(*)::int AS n FROM t WHERE id = 60`).toEqual([{ n: 0 }]);
    } finally {
      await other.$disconnect();
    }
  });

  it('a statement inside a transaction waits at most 5 s, and a transaction that ended refuses more work', async () => {
    let kept: Sql | undefined;
    const timeout = await db.sql.$transaction(async (tx) => {
      kept = tx;
      return tx.$queryRaw<Array<{ statement_timeout: string }>>`SHOW statement_timeout`;
    });
    expect(timeout).toEqual([{ statement_timeout: '5s' }]);
    await expect(kept!.$queryRaw`SELECT 1`).rejects.toThrow('this transaction has already ended');
    // Outside a transaction no limit applies.
    expect(await db.sql.$queryRaw`SHOW statement_timeout`).toEqual([{ statement_timeout: '0' }]);
  });

  it('a transaction holds its row locks until it ends', async () => {
    await db.$executeRaw`INSERT INTO t (id, big) VALUES (50, 0)`;
    const other = createPrisma(url, 1);
    try {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const first = db.sql.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM t WHERE id = 50 FOR UPDATE`;
        await held;
        await tx.$executeRaw`UPDATE t SET big = big + 1 WHERE id = 50`;
      });
      await new Promise((r) => setTimeout(r, 100));
      const order: string[] = [];
      const second = other.sql
        .$transaction(async (tx) => {
          await tx.$queryRaw`SELECT id FROM t WHERE id = 50 FOR UPDATE`;
          order.push('second locked');
          await tx.$executeRaw`UPDATE t SET big = big * 10 WHERE id = 50`;
        })
        .then(() => order.push('second done'));
      await new Promise((r) => setTimeout(r, 200));
      order.push('first released');
      release();
      await Promise.all([first, second]);
      expect(order).toEqual(['first released', 'second locked', 'second done']);
      expect(await db.sql.$queryRaw`SELECT big FROM t WHERE id = 50`).toEqual([{ big: 10n }]);
    } finally {
      await other.$disconnect();
    }
  });
});
