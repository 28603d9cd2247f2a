/** A fresh PostgreSQL database on the local server, migrated with `prisma migrate deploy`; drop() removes it. */
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { ROOT } from './services.ts';

export const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface FreshDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** An empty database (no tables): for tests of the database layer's own behaviour. */
export async function createEmptyDatabase(prefix: string): Promise<FreshDatabase> {
  // Base 36, not decimal: a long decimal run in the name could pass for a card number in the leak scan.
  const name = `${prefix}_${Date.now().toString(36)}_${process.pid.toString(36)}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return { url, name, drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined) };
}

export async function createFreshDatabase(prefix: string): Promise<FreshDatabase> {
  const db = await createEmptyDatabase(prefix);
  execFileSync(`${ROOT}node_modules/.bin/prisma`, ['migrate', 'deploy'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: db.url }, stdio: 'pipe' });
  return db;
}
