/** The static files under api/public, as the storefront and demo routes serve them: read once, with a strong ETag. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export const UPSELLS_JS_PATH = '/wp-json/ocart/v1/upsells.js';

/** A static asset from api/public, with its validator. */
export async function loadPublicAsset(name: string): Promise<{ body: Buffer; etag: string }> {
  return loadAssetFile(new URL(`./public/${name}`, import.meta.url));
}

/** Any file the service serves as-is (a vendored library's build, say), with its validator. */
export async function loadAssetFile(path: URL | string): Promise<{ body: Buffer; etag: string }> {
  const body = await readFile(path);
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
