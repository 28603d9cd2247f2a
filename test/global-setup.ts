/**
 * Once per test run: a real Temporal dev server (with the UI and our search attributes) and a
 * fresh PostgreSQL database, migrated with `prisma migrate deploy` and dropped at the end.
 */
import type { TestProject } from 'vitest/node';
import { createFreshDatabase } from '../scripts/lib/fresh-db.ts';
import { freePort } from '../scripts/lib/ports.ts';
import { startTemporalDevServer } from '../scripts/lib/temporal-dev.ts';

export default async function setup(project: TestProject) {
  const db = await createFreshDatabase('ocart_test');
  const temporalPort = await freePort();
  const uiPort = await freePort();
  const temporal = await startTemporalDevServer({ port: temporalPort, uiPort, dbFile: null, quiet: true });

  project.provide('databaseUrl', db.url);
  project.provide('temporalAddress', `127.0.0.1:${temporalPort}`);
  project.provide('temporalUiUrl', `http://127.0.0.1:${uiPort}`);

  return async () => {
    await temporal.stop();
    await db.drop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    temporalAddress: string;
    temporalUiUrl: string;
  }
}
