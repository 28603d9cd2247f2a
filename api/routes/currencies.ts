/**
 * GET /wp-json/ocart/v1/currencies: every currency's minor-unit digits, from the one money helper
 * (domain/money.ts, the maintained ISO 4217 table). Public and cacheable: a shop or a page formats
 * amounts (integer minor units) with the same table the service charges with.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { currencyTable } from '../../domain/money.ts';
import type { AppDeps } from '../app.ts';

export const CURRENCIES_PATH = '/wp-json/ocart/v1/currencies';

export const currencyRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app) => {
  const table = currencyTable();
  app.get(
    CURRENCIES_PATH,
    {
      schema: {
        tags: ['buyer'],
        operationId: 'listCurrencies',
        summary: 'Minor-unit digits per currency',
        description: 'ISO 4217 code to the number of decimal digits of its minor unit (USD 2, JPY 0, KWD 3): amounts in this API are integers in that unit. Cacheable for a day.',
        response: {
          200: Type.Record(Type.String({ pattern: '^[A-Z]{3}$' }), Type.Integer({ minimum: 0, maximum: 4 }), {
            examples: [{ USD: 2, JPY: 0, KWD: 3 }],
          }),
        },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=86400').header('cross-origin-resource-policy', 'cross-origin');
      return reply.send(table);
    },
  );
};
