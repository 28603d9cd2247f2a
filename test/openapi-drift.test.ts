/**
 * docs/openapi.json is the document the service serves at /docs/json, committed so the contract can
 * be read and reviewed without running the service. A route, schema or error code changed without
 * `npm run docs:openapi` fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPENAPI_FILE, renderOpenApiDocument } from '../scripts/openapi.ts';

describe('docs/openapi.json', () => {
  it('is what GET /docs/json serves today (regenerate with npm run docs:openapi)', async () => {
    const committed = readFileSync(OPENAPI_FILE, 'utf8');
    const served = await renderOpenApiDocument();
    // Compared as documents first, for a readable diff; then as text, so the file is exactly what the script writes.
    expect(JSON.parse(committed), 'docs/openapi.json is stale: run npm run docs:openapi').toEqual(JSON.parse(served));
    expect(committed).toBe(served);
  });
});
