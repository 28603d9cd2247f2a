/** Identifiers as the HTTP routes take them. */
import { Type } from '@sinclair/typebox';

/** An offer's id: the accept route's path and the shop API's offers. */
export const OfferId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

/** The shop's cart id, as the one-click token and the accept carry it. */
export const CartId = Type.String({ minLength: 1, maxLength: 255, pattern: '^[A-Za-z0-9_\\-:.]+$' });
