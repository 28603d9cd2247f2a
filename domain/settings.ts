import { DomainError } from './errors.ts';

/** The ocart_settings keys from the OCart doc, plus the SCA wait timeout. */
export interface UpsellSettings {
  'upsells.one_click_token_ttl_min': number;
  'upsells.sca_modal_enabled': boolean;
  'upsells.order_strategy_default': OrderStrategy;
  'upsells.merge_cutoff_min': number;
  'upsells.sca_timeout_min': number;
  /** how long a parent's post-purchase window stays open after its first token (minutes) */
  'upsells.window_min': number;
  /** the funnel an order's token runs when the shop names none; null: plain offer tokens */
  'upsells.default_funnel_id': string | null;
}

export type OrderStrategy = 'child' | 'merge';
export type SettingKey = keyof UpsellSettings;

export const DEFAULT_SETTINGS: Readonly<UpsellSettings> = Object.freeze({
  'upsells.one_click_token_ttl_min': 30,
  'upsells.sca_modal_enabled': true,
  'upsells.order_strategy_default': 'child',
  'upsells.merge_cutoff_min': 5,
  'upsells.sca_timeout_min': 30,
  'upsells.window_min': 15,
  'upsells.default_funnel_id': null,
});

type Check = (value: unknown) => boolean;
const positiveMinutes =
  (max: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= max;

const CHECKS: Record<SettingKey, { check: Check; rule: string }> = {
  'upsells.one_click_token_ttl_min': { check: positiveMinutes(1440), rule: 'a number of minutes, above 0 and at most 1440' },
  'upsells.sca_modal_enabled': { check: (v) => typeof v === 'boolean', rule: 'true or false' },
  'upsells.order_strategy_default': { check: (v) => v === 'child' || v === 'merge', rule: '"child" or "merge"' },
  'upsells.merge_cutoff_min': {
    check: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1440,
    rule: 'a number of minutes from 0 to 1440',
  },
  'upsells.sca_timeout_min': { check: positiveMinutes(1440), rule: 'a number of minutes, above 0 and at most 1440' },
  'upsells.window_min': { check: positiveMinutes(1440), rule: 'a number of minutes, above 0 and at most 1440' },
  'upsells.default_funnel_id': {
    check: (v) => v === null || (typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v)),
    rule: 'a funnel id or null',
  },
};

export const SETTING_KEYS = Object.keys(DEFAULT_SETTINGS) as SettingKey[];

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(CHECKS, key);
}

/** Validates a partial update; unknown keys and invalid values are refused as a whole. */
export function parseSettingsPatch(patch: Record<string, unknown>): Partial<UpsellSettings> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (!isSettingKey(key)) throw new DomainError('setting_invalid', `unknown setting "${key}"`);
    const { check, rule } = CHECKS[key];
    if (!check(value)) throw new DomainError('setting_invalid', `setting "${key}" must be ${rule}`);
    out[key] = value;
  }
  return out;
}

/** Stored rows over the defaults; a stored value that no longer validates falls back to its default. */
export function resolveSettings(stored: ReadonlyArray<{ key: string; value: unknown }>): UpsellSettings {
  const settings: UpsellSettings = { ...DEFAULT_SETTINGS };
  for (const { key, value } of stored) {
    if (isSettingKey(key) && CHECKS[key].check(value)) Object.assign(settings, { [key]: value });
  }
  return settings;
}
