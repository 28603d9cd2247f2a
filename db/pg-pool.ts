import pg from 'pg';

// adapter-pg 6.19 cannot decode PostgreSQL's `name` type (OID 19), which the migration engine reads
// from the catalog (a known Prisma adapter limitation). `name` is text on the wire, so report it as text (OID 25).
const NAME_OID = 19;
const TEXT_OID = 25;

function relabelNameColumns(result: unknown): void {
  const results = Array.isArray(result) ? result : [result];
  for (const r of results) {
    const fields = (r as pg.QueryResult | undefined)?.fields;
    if (!fields) continue;
    for (const field of fields) if (field.dataTypeID === NAME_OID) field.dataTypeID = TEXT_OID;
  }
}

class NameAsTextClient extends pg.Client {
  // pg's query() has many overloads (promise and callback); this one only post-processes results.
  override query(...args: unknown[]): never {
    const last = args.at(-1);
    if (typeof last === 'function') {
      const callback = last as (err: Error | null, result: unknown) => void;
      args[args.length - 1] = (err: Error | null, result: unknown) => {
        if (!err) relabelNameColumns(result);
        callback(err, result);
      };
    }
    const out = (super.query as (...a: unknown[]) => unknown)(...args);
    if (out && typeof (out as Promise<unknown>).then === 'function') {
      return (out as Promise<unknown>).then((r) => {
        relabelNameColumns(r);
        return r;
      }) as never;
    }
    return out as never;
  }
}

export function createPgPool(connectionString: string, max = 10): pg.Pool {
  // A connection is waited for at most 10 s (every one busy, or the server not answering): then the
  // caller gets an outage error it retries, instead of a queue that never ends.
  const pool = new pg.Pool({ connectionString, max, Client: NameAsTextClient, connectionTimeoutMillis: 10_000 });
  // An idle connection the server drops (restart, failover, pg_terminate_backend) is emitted here;
  // without a listener Node would end the process. The pool replaces it on the next query.
  pool.on('error', (err) => {
    console.warn(JSON.stringify({ level: 'warn', msg: 'idle database connection lost; the pool will reconnect', error: err.message }));
  });
  return pool;
}
