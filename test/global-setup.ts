/**
 * Once per test run: a real Temporal dev server (with the UI and our search attributes) and a
 * fresh PostgreSQL database, migrated with `prisma migrate deploy` and dropped at the end.
 */
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import pg from 'pg';
import { startTemporalDevServer, type RunningProcess } from '../scripts/lib/temporal-dev.ts';
import { freePort } from '../scripts/lib/ports.ts';

const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export default async function setup(project: TestProject) {
  const dbName = `ocart_test_${Date.now()}_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  await admin.end();
  const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`);
  execFileSync('npx', ['prisma', 'migrate', 'deploy'], { env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: 'pipe' });

  const temporalPort = await freePort();
  const uiPort = await freePort();
  const temporal: RunningProcess = await startTemporalDevServer({ port: temporalPort, uiPort, dbFile: null, quiet: true });

  project.provide('databaseUrl', databaseUrl);
  project.provide('temporalAddress', `127.0.0.1:${temporalPort}`);
  project.provide('temporalUiUrl', `http://127.0.0.1:${uiPort}`);

  return async () => {
    await temporal.stop();
    const again = new pg.Client({ connectionString: ADMIN_URL });
    await again.connect();
    await again.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await again.end();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    temporalUiUrl: string;
  }
}
