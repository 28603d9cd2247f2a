/**
 * The drop-in storefront script, GET /wp-json/ocart/v1/upsells.js: a static file (api/public/upsells.js),
 * read once at start, served with a strong ETag and a short shared cache so a new release reaches
 * thank-you pages within minutes while the URL stays the same.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../app.ts';

export const UPSELLS_JS_PATH = '/wp-json/ocart/v1/upsells.js';

/** A static asset from api/public, with its validator. */
export async function loadPublicAsset(name: string): Promise<{ body: Buffer; etag: string }> {
  const body = await readFile(new URL(`../public/${name}`, import.meta.url));
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** True when the request's If-None-Match names this ETag (or is `*`). */
export function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === etag || t === '*');
}

export const storefrontRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app) => {
  const script = await loadPublicAsset('upsells.js');

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
