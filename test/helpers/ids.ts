/** Unique names for test rows and accepts, so tests never share them (no vitest import: the reliability suite uses these too). */
import { randomBytes, randomUUID } from 'node:crypto';

/** A short unique suffix: ten hex characters. */
export function uid(): string {
  return randomBytes(5).toString('hex');
}

/** A fresh idempotency key: `<prefix>-<uuid>`. */
export function newKey(prefix = 'key'): string {
  return `${prefix}-${randomUUID()}`;
}
