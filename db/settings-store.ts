import { type UpsellSettings, resolveSettings } from '../domain/settings.ts';
import type { DbTx } from './client.ts';

/** One SQL read: it is on every accept's hot path (Prisma 6.19's query planner costs milliseconds). */
export async function loadSettings(db: DbTx): Promise<UpsellSettings> {
  return resolveSettings(await db.$queryRaw<Array<{ key: string; value: unknown }>>`SELECT key, value FROM settings`);
}

export async function saveSettings(db: DbTx, patch: Partial<UpsellSettings>): Promise<void> {
  for (const [key, value] of Object.entries(patch)) {
    // null (upsells.default_funnel_id) is the default: no row.
    if (value === null) {
      await db.setting.deleteMany({ where: { key } });
      continue;
    }
    await db.setting.upsert({ where: { key }, create: { key, value }, update: { value } });
  }
}
