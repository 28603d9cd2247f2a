import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
import { createPgPool } from './db/pg-pool.ts';

// The JS schema engine runs migrations through the pg driver adapter, so the CLI needs no
// downloaded native engine (Prisma 6.19 with engine: "js"). DATABASE_URL must be set for every command.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  engine: 'js',
  experimental: { adapter: true },
  async adapter() {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set: every prisma command needs it');
    return new PrismaPg(createPgPool(url, 2));
  },
});
