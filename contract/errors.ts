/** The error body every route answers with: a stable code (domain/errors.ts ERROR_STATUS) and a message for people. */
import { Type, type Static } from '@sinclair/typebox';
import { ERROR_STATUS, type ErrorCode } from '../domain/errors.ts';

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/** `rejected` for a 4xx (nothing was charged), `error` for a 5xx. */
export const ErrorStatus = Type.Union([Type.Literal('rejected'), Type.Literal('error')], { description: '`rejected` for 4xx (nothing was charged), `error` for 5xx' });
export type ErrorStatus = Static<typeof ErrorStatus>;

/** Every error body: the stable code is one of domain/errors.ts ERROR_STATUS. Shared in OpenAPI as `Error`. */
export const ErrorSchema = Type.Object(
  {
    status: ErrorStatus,
    code: Type.Unsafe<ErrorCode>({ type: 'string', enum: ERROR_CODES, description: 'Stable error code: add codes, never rename them' }),
    message: Type.String({ description: 'For people. 5xx details stay in the logs' }),
    accept_id: Type.Optional(Type.String({ description: 'The idempotency key, on the accept routes' })),
  },
  { $id: 'Error', title: 'Error', additionalProperties: true },
);
export type ErrorBody = Static<typeof ErrorSchema>;

/** The status word of an error body with this code. */
export function errorStatusFor(code: ErrorCode): ErrorStatus {
  return ERROR_STATUS[code] >= 500 ? 'error' : 'rejected';
}

export function errorBody(code: ErrorCode, message: string, acceptId?: string): ErrorBody {
  return { status: errorStatusFor(code), code, message, ...(acceptId ? { accept_id: acceptId } : {}) };
}
