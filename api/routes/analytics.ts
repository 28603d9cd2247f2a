/**
 * GET /wp-json/ocart/v1/analytics/offers (shop API): per offer, funnel step and currency, what was
 * shown, accepted, declined and earned over a time range, with a per-interval series. One query
 * (db/analytics.ts); the rates and net revenue are derived here from its counts.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { offerReport, type OfferFigures, type ReportInterval } from '../../db/analytics.ts';
import { DomainError } from '../../domain/errors.ts';
import { requireApiKey } from '../auth.ts';
import type { AppDeps } from '../app.ts';
import { SHOP_SECURITY, errorResponses } from '../plugins/openapi.ts';

const DAY_MS = 86_400_000;
/** The longest range a report covers, and for hourly series a shorter one (at most 24 x 31 buckets). */
export const MAX_RANGE_DAYS = 366;
export const MAX_HOURLY_RANGE_DAYS = 31;
const DEFAULT_RANGE_DAYS = 30;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** An ISO 8601 date (midnight UTC) or date-time with its zone; anything else is 400 date_invalid. */
export function parseReportDate(raw: string, name: string): Date {
  const m = ISO_DATE.exec(raw);
  const at = m ? new Date(m[4] === undefined ? `${raw}T00:00:00Z` : raw) : null;
  const [month, day, hour, minute, second] = m ? [m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) : [];
  if (!m || !at || Number.isNaN(at.getTime()) || month! < 1 || month! > 12 || day! < 1 || day! > 31 || hour! > 23 || minute! > 59 || second! > 59) {
    throw new DomainError('date_invalid', `${name} must be an ISO 8601 date or date-time with a zone, like 2026-12-01 or 2026-12-01T00:00:00Z`);
  }
  // 2026-02-30 would roll over into March: refuse it rather than move it.
  if (m[4] === undefined && at.toISOString().slice(0, 10) !== raw) throw new DomainError('date_invalid', `${name} is not a calendar date`);
  return at;
}

/** The report's range: [from, to), defaults the last 30 days up to now. */
export function reportRange(query: { from?: string; to?: string; interval?: ReportInterval }, now: Date): { from: Date; to: Date; interval: ReportInterval } {
  const interval = query.interval ?? 'day';
  const to = query.to !== undefined ? parseReportDate(query.to, 'to') : now;
  const from = query.from !== undefined ? parseReportDate(query.from, 'from') : new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS);
  if (from.getTime() >= to.getTime()) throw new DomainError('range_invalid', 'from must be before to');
  const maxDays = interval === 'hour' ? MAX_HOURLY_RANGE_DAYS : MAX_RANGE_DAYS;
  if (to.getTime() - from.getTime() > maxDays * DAY_MS) {
    throw new DomainError('range_too_long', `a report covers at most ${maxDays} days${interval === 'hour' ? ' by the hour' : ''}`);
  }
  return { from, to, interval };
}

const ratio = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null);

function body(f: OfferFigures, currency: string) {
  return {
    impressions: f.impressions,
    accepts: f.accepts,
    buyer_declines: f.buyerDeclines,
    payment_declines: f.paymentDeclines,
    sca_started: f.scaStarted,
    sca_abandoned: f.scaAbandoned,
    conversion_rate: ratio(f.accepts, f.impressions),
    sca_abandonment_rate: ratio(f.scaAbandoned, f.scaStarted),
    gross_revenue: { value: f.grossRevenue, currency },
    refunds: { value: f.refunds, currency },
    net_revenue: { value: f.grossRevenue - f.refunds, currency },
    median_answer_ms: f.medianAnswerMs,
  };
}

const COUNT = (what: string) => Type.Integer({ minimum: 0, description: what });
const RATE = (what: string) => Type.Union([Type.Number({ minimum: 0 }), Type.Null()], { description: `${what}, to 4 decimals; null when the divisor is 0` });
const MONEY = (what: string) => Type.Object({ value: Type.Integer({ description: 'Minor units' }), currency: Type.String() }, { description: what });
const FIGURES = {
  impressions: COUNT('Offers shown (once per token)'),
  accepts: COUNT('Accepts that charged and wrote an order (once per accept, whatever was replayed)'),
  buyer_declines: COUNT('Buyers who said no'),
  payment_declines: COUNT("Accepts the gateway declined (the card, or the saved method's check)"),
  sca_started: COUNT('Accepts the bank sent to 3-D Secure'),
  sca_abandoned: COUNT('3-D Secure the buyer did not finish in time'),
  conversion_rate: RATE('accepts / impressions'),
  sca_abandonment_rate: RATE('sca_abandoned / sca_started'),
  gross_revenue: MONEY('What the accepts charged'),
  refunds: MONEY('What was refunded on them'),
  net_revenue: MONEY('gross_revenue - refunds'),
  median_answer_ms: Type.Union([Type.Integer(), Type.Null()], {
    description: "Median milliseconds from the buyer's click to the first answer (success, decline or the 3-D Secure challenge); null without answers",
  }),
};

const Report = Type.Object(
  {
    from: Type.String({ format: 'date-time' }),
    to: Type.String({ format: 'date-time', description: 'Exclusive' }),
    interval: Type.String({ description: 'The series buckets: hour, day or week (UTC; weeks start on Monday)' }),
    offers: Type.Array(
      Type.Object({
        offer_id: Type.String(),
        name: Type.Union([Type.String(), Type.Null()], { description: "The offer's name (null if the offer was deleted)" }),
        step_id: Type.Union([Type.String(), Type.Null()], { description: 'The funnel step; null for a standalone offer' }),
        currency: Type.String(),
        ...FIGURES,
        series: Type.Array(Type.Object({ start: Type.String({ format: 'date-time', description: "The bucket's start (UTC)" }), ...FIGURES }), {
          description: 'Per interval, oldest first; only buckets with at least one event',
        }),
      }),
      { description: 'One row per offer, funnel step and currency that has at least one event in the range' },
    ),
  },
  { title: 'OfferAnalytics' },
);

export const analyticsRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { prisma, config, clock }) => {
  app.addHook('onRequest', requireApiKey(config.apiKey));

  app.get(
    '/wp-json/ocart/v1/analytics/offers',
    {
      schema: {
        tags: ['shop'],
        operationId: 'offerAnalytics',
        summary: 'Offer analytics: impressions, accepts, declines, revenue and refunds per offer over a time range',
        security: SHOP_SECURITY,
        querystring: Type.Object(
          {
            from: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601 date or date-time with zone, inclusive; default: 30 days before `to`' })),
            to: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601 date or date-time with zone, exclusive; default: now' })),
            interval: Type.Optional(
              Type.Union([Type.Literal('hour'), Type.Literal('day'), Type.Literal('week')], { description: 'The series buckets (UTC; weeks start on Monday); default day' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Report, ...errorResponses(400, 401, 500) },
      },
    },
    async (request) => {
      const { from, to, interval } = reportRange(request.query, clock());
      const rows = await offerReport(prisma, from, to, interval);
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        interval,
        offers: rows.map((r) => ({
          offer_id: r.offerId,
          name: r.offerName,
          step_id: r.stepId,
          currency: r.currency,
          ...body(r, r.currency),
          series: r.series.map((s) => ({ start: s.start, ...body(s, r.currency) })),
        })),
      };
    },
  );
};
