/**
 * The drop-in storefront script, GET /wp-json/ocart/v1/upsells.js: a static file (api/public/upsells.js),
 * read once at start, served with a strong ETag and a short shared cache so a new release reaches
 * thank-you pages within minutes while the URL stays the same.
 */
import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { currencyTable } from '../../domain/money.ts';
import type { AppDeps } from '../app.ts';
import { UPSELLS_JS_PATH, loadPublicAsset, notModified } from '../public-assets.ts';

/** The placeholder in upsells.js that the service's currency table replaces. */
export const CURRENCY_TABLE_PLACEHOLDER = '/*OCART_CURRENCY_DIGITS*/ {}';

/** upsells.js with the service's currency table written in (its ETag covers the table too). */
export async function loadStorefrontScript(): Promise<{ body: Buffer; etag: string }> {
  const asset = await loadPublicAsset('upsells.js');
  const source = asset.body.toString('utf8');
  if (!source.includes(CURRENCY_TABLE_PLACEHOLDER)) throw new Error('upsells.js has lost its currency table placeholder');
  const body = Buffer.from(source.replace(CURRENCY_TABLE_PLACEHOLDER, JSON.stringify(currencyTable())), 'utf8');
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

export const storefrontRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app) => {
  const script = await loadStorefrontScript();

  app.get(UPSELLS_JS_PATH, async (request, reply) => {
    reply
      .header('cache-control', 'public, max-age=300, stale-while-revalidate=86400')
      .header('etag', script.etag)
      .header('x-content-type-options', 'nosniff')
      // Thank-you pages live on the shop's origin, which may isolate itself (COEP).
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('vary', 'accept-encoding');
    if (notModified(request.headers['if-none-match'], script.etag)) return reply.status(304).send();
    return reply.type('text/javascript; charset=utf-8').send(script.body);
  });
};
