/**
 * `npm run docs:openapi`: writes docs/openapi.json, the OpenAPI document the service serves at
 * /docs/json, so the contract can be read (and diffed in review) without running anything.
 *
 * The app is built in this process and asked with inject: no port, no network, no database or
 * Temporal connection (nothing the document is made from needs them). Configuration is a fixed,
 * deployment-like one (no sandbox gateway, so no /demo or /sandbox pages; a placeholder public URL),
 * so the file depends on the code only. test/openapi-drift.test.ts fails when the two differ.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildGateways } from '../gateways/index.ts';
import { buildApp } from '../api/app.ts';
import { loadApiConfig } from '../api/config.ts';
import type { AcceptFlows } from '../api/temporal.ts';
import { createPrisma } from '../db/client.ts';

export const OPENAPI_FILE = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));

/** The public URL the committed document names as its server: a deployment puts its own. */
export const DOCUMENT_BASE_URL = 'https://upsells.example.com';

const DOCUMENT_ENV: Record<string, string> = {
  OCART_ENV: 'development',
  OCART_SANDBOX_ENABLED: 'false',
  PUBLIC_BASE_URL: DOCUMENT_BASE_URL,
  // Placeholders: the document never shows them, and nothing here signs or checks a key.
  OCART_API_KEY: 'document-only-api-key-000000000000',
  OCART_TOKEN_SECRETS: 'doc:document-only-signing-secret-000000000000',
  // Never connected to: Prisma connects on the first query, and building the document makes none.
  DATABASE_URL: 'postgresql://unused@127.0.0.1:5432/unused',
};

/** Temporal is never reached while the document is built: any call would be a bug here. */
const noTemporal = (): Promise<never> => Promise.reject(new Error('Temporal is not connected: this app only builds the OpenAPI document'));
const flows: AcceptFlows = { startOrJoin: noTemporal, status: noTemporal, signalScaCompleted: noTemporal, reconcileCharge: noTemporal, ping: noTemporal, refund: noTemporal };

/** The document exactly as GET /docs/json serves it, as the committed file's text. */
export async function renderOpenApiDocument(): Promise<string> {
  const config = loadApiConfig(DOCUMENT_ENV);
  const prisma = createPrisma(config.databaseUrl, 1);
  const { registry: gateways, sandbox } = buildGateways(config.gateways, { prisma, publicBaseUrl: config.publicBaseUrl });
  const app = await buildApp({ config, prisma, flows, gateways, sandbox, clock: () => new Date() });
  try {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    if (res.statusCode !== 200) throw new Error(`GET /docs/json answered ${res.statusCode}`);
    return `${JSON.stringify(res.json(), null, 2)}\n`;
  } finally {
    await app.close();
    await prisma.$disconnect();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(OPENAPI_FILE, await renderOpenApiDocument());
  console.log(`wrote ${OPENAPI_FILE.slice(OPENAPI_FILE.lastIndexOf('/docs/') + 1)}`);
}
