import { type UpsellSettings, resolveSettings } from '../domain/settings.ts';
import type { DbTx } from './client.ts';
import type { Sql } from './sql.ts';
import { parseRows } from './rows.ts';

/** One SQL read: it is on every accept's hot path (Prisma 6.19's query planner costs milliseconds). */
export async function loadSettings(db: Sql): Promise<UpsellSettings> {
  const rows = await db.$queryRaw<unknown[]>`SELECT key, value FROM settings`;
  return resolveSettings(parseRows('settings', rows, (r) => ({ key: r.str('key'), value: r.json('value') })));
}

export async function saveSettings(db: DbTx, patch: Partial<UpsellSettings>, now: Date): Promise<void> {
  for (const [key, value] of Object.entries(patch)) {
    // null (upsells.default_funnel_id) is the default: no row.
    if (value === null) {
      await db.setting.deleteMany({ where: { key } });
      continue;
    }
    await db.setting.upsert({ where: { key }, create: { key, value, updatedAt: now }, update: { value, updatedAt: now } });
  }
}
