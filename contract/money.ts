/** An amount as every boundary carries it: integer minor units beside an ISO 4217 code. */
import { Type, type Static } from '@sinclair/typebox';

export const Money = Type.Object({
  value: Type.Integer({ description: "Integer amount in the currency's minor unit" }),
  currency: Type.String({ description: 'ISO 4217 code', examples: ['USD'] }),
});
export type Money = Static<typeof Money>;
