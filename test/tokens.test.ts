/** Single-use token ids (db/tokens.ts) against real PostgreSQL: one jti, one burner, however many race. */
import { afterAll, describe, expect, it, inject } from 'vitest';
import { createPrisma } from '../db/client.ts';
import { burnJti } from '../db/tokens.ts';
import { uid } from './helpers/ids.ts';

const prisma = createPrisma(inject('databaseUrl'), 10);
afterAll(() => prisma.$disconnect());

describe('burnJti', () => {
  it('20 burns of one jti at once, each under its own key: every call names the same single burner, none fails', async () => {
    for (let round = 0; round < 5; round++) {
      const jti = `jti-${uid()}`;
      const keys = Array.from({ length: 20 }, (_, i) => `key-${i}-${uid()}`);
      const burners = await Promise.all(keys.map((key) => burnJti(prisma, jti, key, new Date())));
      expect(new Set(burners).size).toBe(1);
      expect(keys).toContain(burners[0]);
      const rows = await prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM burned_tokens WHERE jti = ${jti}`;
      expect(Number(rows[0]!.n)).toBe(1);
    }
  });

  it('the same key burning again is told it burned the jti itself (a retry)', async () => {
    const jti = `jti-${uid()}`;
    expect(await burnJti(prisma, jti, 'key-a', new Date())).toBe('key-a');
    expect(await burnJti(prisma, jti, 'key-a', new Date())).toBe('key-a');
    expect(await burnJti(prisma, jti, 'key-b', new Date())).toBe('key-a');
  });
});
