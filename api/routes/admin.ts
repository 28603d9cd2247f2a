/**
 * The merchant console: GET /admin (api/views/admin.ts) and its static files under /admin/assets/
 * (api/public/admin.js and admin.css, and chart.js's UMD build from the installed package: no CDN),
 * each with a strong ETag. The page holds no data: its script reads the shop API with the key the
 * merchant signs in with.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../app.ts';
import { loadAssetFile, loadPublicAsset, notModified } from '../public-assets.ts';
import { ADMIN_CSP, renderAdminPage } from '../views/admin.ts';

export const ADMIN_PATH = '/admin';
const ASSETS = '/admin/assets';

/** chart.js's browser (UMD) build, found through the package itself. */
function chartUmdPath(): string {
  const main = createRequire(import.meta.url).resolve('chart.js');
  return join(dirname(main), 'chart.umd.min.js');
}

type AssetName = 'admin.js' | 'admin.css' | 'chart.umd.min.js';

export const adminRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app) => {
  const assets: Record<AssetName, { asset: { body: Buffer; etag: string }; type: string }> = {
    'admin.js': { asset: await loadPublicAsset('admin.js'), type: 'text/javascript; charset=utf-8' },
    'admin.css': { asset: await loadPublicAsset('admin.css'), type: 'text/css; charset=utf-8' },
    'chart.umd.min.js': { asset: await loadAssetFile(chartUmdPath()), type: 'text/javascript; charset=utf-8' },
  };
  // The ETag in the URL: a new release's page never runs an old cached script.
  const url = (name: AssetName) => `${ASSETS}/${name}?v=${encodeURIComponent(assets[name].asset.etag.replace(/"/g, ''))}`;
  const page = renderAdminPage({ css: url('admin.css'), chart: url('chart.umd.min.js'), js: url('admin.js') });

  const security = (reply: { header(k: string, v: string): unknown }) => {
    reply.header('content-security-policy', ADMIN_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
  };

  app.get(
    ASSETS + '/:name',
    { schema: { hide: true, params: Type.Object({ name: Type.Union([Type.Literal('admin.js'), Type.Literal('admin.css'), Type.Literal('chart.umd.min.js')]) }) } },
    async (request, reply) => {
      const { asset, type } = assets[request.params.name];
      security(reply);
      reply.header('cache-control', 'no-cache').header('etag', asset.etag);
      if (notModified(request.headers['if-none-match'], asset.etag)) return reply.status(304).send();
      return reply.type(type).send(asset.body);
    },
  );

  app.get(ADMIN_PATH, { schema: { hide: true } }, async (_request, reply) => {
    security(reply);
    reply.header('cache-control', 'no-store');
    return reply.type('text/html; charset=utf-8').send(page);
  });
};
