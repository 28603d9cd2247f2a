/**
 * The offer analytics report: ONE query over offer_events for a time range, grouped by offer,
 * funnel step and currency, both over the whole range and per interval (GROUPING SETS), so the totals
 * and the series come from the same snapshot. The range is read through the (occurred_at, offer_id)
 * index. Every figure counts rows, and each row is unique per (kind, source_key), so replays and
 * retries never inflate it.
 */
import type { Db } from './client.ts';
import { type Row, parseRows } from './rows.ts';

export type ReportInterval = 'hour' | 'day' | 'week';

export interface OfferFigures {
  impressions: number;
  accepts: number;
  buyerDeclines: number;
  paymentDeclines: number;
  scaStarted: number;
  scaAbandoned: number;
  /** minor units of `currency` */
  grossRevenue: number;
  refunds: number;
  medianAnswerMs: number | null;
}

export interface OfferReportRow extends OfferFigures {
  offerId: string;
  offerName: string | null;
  stepId: string | null;
  currency: string;
  series: Array<OfferFigures & { start: string }>;
}

function figures(r: Row): OfferFigures {
  return {
    impressions: r.int('impressions'),
    accepts: r.int('accepts'),
    buyerDeclines: r.int('buyer_declines'),
    paymentDeclines: r.int('payment_declines'),
    scaStarted: r.int('sca_started'),
    scaAbandoned: r.int('sca_abandoned'),
    grossRevenue: r.int('gross'),
    refunds: r.int('refunds'),
    medianAnswerMs: r.intOrNull('median_answer_ms'),
  };
}

/** Per offer, step and currency over [from, to), each with its per-interval series (UTC buckets holding at least one event). */
export async function offerReport(db: Db, from: Date, to: Date, interval: ReportInterval): Promise<OfferReportRow[]> {
  const rows = await db.$queryRaw<unknown[]>`
    WITH e AS (
      SELECT offer_id, step_id, currency, kind, amount, answer_ms,
             date_trunc(${interval}::text, occurred_at AT TIME ZONE 'UTC') AS bucket
      FROM offer_events
      WHERE occurred_at >= ${from.toISOString()}::timestamptz AND occurred_at < ${to.toISOString()}::timestamptz
    ), grouped AS (
      SELECT offer_id, step_id, currency, bucket, GROUPING(bucket)::int AS is_total,
             count(*) FILTER (WHERE kind = 'impression')::int AS impressions,
             count(*) FILTER (WHERE kind = 'accept')::int AS accepts,
             count(*) FILTER (WHERE kind = 'buyer_decline')::int AS buyer_declines,
             count(*) FILTER (WHERE kind = 'payment_decline')::int AS payment_declines,
             count(*) FILTER (WHERE kind = 'sca_started')::int AS sca_started,
             count(*) FILTER (WHERE kind = 'sca_abandoned')::int AS sca_abandoned,
             COALESCE(sum(amount) FILTER (WHERE kind = 'accept'), 0)::bigint AS gross,
             COALESCE(sum(amount) FILTER (WHERE kind = 'refund'), 0)::bigint AS refunds,
             round(percentile_cont(0.5) WITHIN GROUP (ORDER BY answer_ms))::int AS median_answer_ms
      FROM e
      GROUP BY GROUPING SETS ((offer_id, step_id, currency), (offer_id, step_id, currency, bucket))
    )
    SELECT g.offer_id, o.name AS offer_name, g.step_id, g.currency, g.is_total,
           to_char(g.bucket, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS bucket,
           g.impressions, g.accepts, g.buyer_declines, g.payment_declines, g.sca_started, g.sca_abandoned,
           g.gross, g.refunds, g.median_answer_ms
    FROM grouped g LEFT JOIN offers o ON o.id = g.offer_id
    ORDER BY g.offer_id, g.step_id NULLS FIRST, g.currency, g.is_total DESC, g.bucket`;

  const report: OfferReportRow[] = [];
  const parsed = parseRows('offer_events', rows, (r) => ({
    isTotal: r.int('is_total') === 1,
    offerId: r.str('offer_id'),
    offerName: r.strOrNull('offer_name'),
    stepId: r.strOrNull('step_id'),
    currency: r.str('currency').trim(),
    bucket: r.strOrNull('bucket'),
    figures: figures(r),
  }));
  for (const r of parsed) {
    if (r.isTotal) {
      report.push({ offerId: r.offerId, offerName: r.offerName, stepId: r.stepId, currency: r.currency, ...r.figures, series: [] });
      continue;
    }
    // Ordered so that a group's total comes right before its buckets.
    const group = report.at(-1);
    if (!group || r.bucket === null) throw new Error(`offer report: a bucket of ${r.offerId} came without its total`);
    group.series.push({ start: r.bucket, ...r.figures });
  }
  return report;
}
