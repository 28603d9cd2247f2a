/**
 * Parameterised SQL straight on the `pg` pool, with the tagged-template calls of Prisma's raw API
 * (`$queryRaw`, `$executeRaw`, `$transaction`), for the queries every accept makes. Prisma 6.19's
 * client spends about 0.36 ms of CPU on a raw query that costs `pg` 0.13 ms, and 2.2 ms on a
 * transaction of four that costs `pg` 0.7 ms (docs/performance.md). A Prisma client or transaction
 * fits the same interface, so these queries run on either.
 *
 * Rows come back as Prisma returns them: `timestamp` columns as UTC Dates and `bigint` columns as
 * bigints (db/rows.ts parses both); the rest as `pg` parses them.
 */
import pg from 'pg';

/** Raw SQL as a tagged template: `${value}`s are sent as parameters, never spliced in. */
export interface Sql {
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): Promise<T>;
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number>;
}

/** Raw SQL, and interactive transactions of it (READ COMMITTED, as Prisma's). */
export interface SqlDb extends Sql {
  $transaction<R>(work: (tx: Sql) => Promise<R>): Promise<R>;
}

const INT8_OID = 20;
const TIMESTAMP_OID = 1114;

/** `timestamp` (without time zone) holds UTC here, as Prisma writes and reads it; pg would read local time. */
function utcTimestamp(text: string): Date {
  return new Date(`${text.replace(' ', 'T')}Z`);
}

const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): ((text: string) => unknown) => {
    if (oid === TIMESTAMP_OID) return utcTimestamp;
    if (oid === INT8_OID) return (text: string) => BigInt(text);
    return pg.types.getTypeParser(oid, format ?? 'text') as (text: string) => unknown;
  }) as pg.CustomTypesConfig['getTypeParser'],
};

function queryConfig(strings: TemplateStringsArray, values: unknown[]): pg.QueryConfig {
  let text = strings[0] ?? '';
  for (let i = 1; i < strings.length; i++) text += `$${i}${strings[i]}`;
  return { text, values, types: TYPES };
}

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

function sqlOn(target: Queryable, assertOpen: () => void = () => undefined): Sql {
  return {
    async $queryRaw<T>(strings: TemplateStringsArray, ...values: unknown[]): Promise<T> {
      assertOpen();
      return (await target.query(queryConfig(strings, values))).rows as T;
    },
    async $executeRaw(strings: TemplateStringsArray, ...values: unknown[]): Promise<number> {
      assertOpen();
      return (await target.query(queryConfig(strings, values))).rowCount ?? 0;
    },
  };
}

/**
 * Each statement of a transaction waits at most this long (a lock held elsewhere, a stuck backend),
 * then fails with 57014, which every caller retries. Prisma bounded its transactions at 5 s too.
 */
const TX_STATEMENT_TIMEOUT_MS = 5_000;

const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));

export function pgSql(pool: pg.Pool): SqlDb {
  return {
    ...sqlOn(pool),
    async $transaction<R>(work: (tx: Sql) => Promise<R>): Promise<R> {
      const client = await pool.connect();
      // While the client is checked out the pool no longer listens to it: a connection that drops now
      // (restart, failover, terminated backend) emits 'error' here, which unheard would end the process.
      // Heard, the transaction's next statement fails and the connection is closed, not reused.
      let lost: Error | undefined;
      const onError = (err: Error) => {
        lost ??= err;
      };
      client.on('error', onError);
      let open = true;
      const tx = sqlOn(client, () => {
        if (!open) throw new Error('this transaction has already ended');
      });
      // A connection whose rollback failed is in an unknown state: it is closed too.
      let broken: Error | undefined;
      try {
        await client.query(`BEGIN; SET LOCAL statement_timeout = ${TX_STATEMENT_TIMEOUT_MS}`);
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        broken = await client.query('ROLLBACK').then(() => undefined, asError);
        throw err;
      } finally {
        open = false;
        client.off('error', onError);
        client.release(lost ?? broken);
      }
    },
  };
}
