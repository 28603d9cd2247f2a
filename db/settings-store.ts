import { type UpsellSettings, resolveSettings } from '../domain/settings.ts';
import type { DbTx } from './client.ts';

export async function loadSettings(db: DbTx): Promise<UpsellSettings> {
  return resolveSettings(await db.setting.findMany());
}

export async function saveSettings(db: DbTx, patch: Partial<UpsellSettings>): Promise<void> {
  for (const [key, value] of Object.entries(patch)) {
    await db.setting.upsert({ where: { key }, create: { key, value }, update: { value } });
  }
}
