/** The contract's refusal encoding and its record parsers, without a server: what goes in comes out, and nothing else does. */
import { ApplicationFailure, DefaultFailureConverter, defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { FAILURE, type Refusal } from '../../contract/failures.ts';
import { acceptFailure, decodeAcceptFailure } from '../../contract/refusals.ts';
import { MalformedRecordError, parseAcceptPlan, parseAcceptState } from '../../contract/records.ts';
import type { AcceptPlan } from '../../contract/accept.ts';
import { GatewayCurrencyError, GatewayDeclineError, GatewayRefusedError, GatewayTransientError, classifyGatewayError } from '../../gateways/gateway.ts';

const converter = new DefaultFailureConverter();
/** Through the failure converter and back, as a failure travels through workflow history. */
const throughHistory = (err: Error) => converter.failureToError(converter.errorToFailure(err, defaultPayloadConverter), defaultPayloadConverter);

describe('refusal encoding', () => {
  const refusal: Refusal = { code: 'token_expired', outcome: 'rejected', message: 'the token has expired' };

  it('is one non-retryable AcceptRefused failure with the refusal as its one detail', () => {
    const f = acceptFailure(refusal);
    expect(f.type).toBe(FAILURE.refused);
    expect(f.nonRetryable).toBe(true);
    expect(f.details).toEqual([refusal]);
  });

  it('decodes to the same refusal after a trip through history, wrapped or not', () => {
    const travelled = throughHistory(acceptFailure(refusal));
    expect(decodeAcceptFailure(travelled)).toEqual({ kind: 'refused', refusal });
    const wrapped = new Error('activity failed', { cause: travelled });
    expect(decodeAcceptFailure(wrapped)).toEqual({ kind: 'refused', refusal });
    for (const outcome of ['declined', 'error'] as const) {
      expect(decodeAcceptFailure(throughHistory(acceptFailure({ ...refusal, outcome })))).toEqual({ kind: 'refused', refusal: { ...refusal, outcome } });
    }
  });

  it('decodes the earlier encoding (code in the message, text in details[0]) that recorded runs carry', () => {
    const rejected = ApplicationFailure.create({ type: FAILURE.legacyRejected, message: 'offer_inactive', details: ['the offer is not active'], nonRetryable: true });
    expect(decodeAcceptFailure(throughHistory(rejected))).toEqual({
      kind: 'refused',
      refusal: { code: 'offer_inactive', outcome: 'rejected', message: 'the offer is not active' },
    });
    const refused = ApplicationFailure.create({ type: FAILURE.legacyGatewayRefused, message: 'gateway_error', details: ['the gateway refused'], nonRetryable: true });
    expect(decodeAcceptFailure(refused)).toEqual({ kind: 'refused', refusal: { code: 'gateway_error', outcome: 'error', message: 'the gateway refused' } });
  });

  it('reads a refusal whose detail does not fit as an uninterpreted error, not as a refusal', () => {
    const bad = (details: unknown[]) => ApplicationFailure.create({ type: FAILURE.refused, message: 'x', details, nonRetryable: true });
    expect(decodeAcceptFailure(bad([]))).toEqual({ kind: 'other' });
    expect(decodeAcceptFailure(bad(['token_expired']))).toEqual({ kind: 'other' });
    expect(decodeAcceptFailure(bad([{ code: 'token_expired', outcome: 'maybe', message: 'm' }]))).toEqual({ kind: 'other' });
    expect(decodeAcceptFailure(bad([{ code: 'Not A Code', outcome: 'rejected', message: 'm' }]))).toEqual({ kind: 'other' });
    expect(decodeAcceptFailure(bad([{ code: 'token_expired', outcome: 'rejected' }]))).toEqual({ kind: 'other' });
  });

  it('tells the other typed failures apart, and anything else is other', () => {
    expect(decodeAcceptFailure(ApplicationFailure.create({ type: FAILURE.gatewayUnavailable, message: 'timeout' }))).toEqual({ kind: 'unavailable' });
    expect(decodeAcceptFailure(ApplicationFailure.create({ type: FAILURE.orderWriteFailed, message: 'order_write_failed' }))).toEqual({ kind: 'order_write_failed' });
    expect(decodeAcceptFailure(ApplicationFailure.create({ type: 'SomethingElse', message: 'token_expired' }))).toEqual({ kind: 'other' });
    expect(decodeAcceptFailure(new Error('token_expired'))).toEqual({ kind: 'other' });
    expect(decodeAcceptFailure('token_expired')).toEqual({ kind: 'other' });
  });
});

describe('gateway errors', () => {
  it('classify by kind, the same for every gateway', () => {
    expect(classifyGatewayError(new GatewayDeclineError('payment_method_unusable', 'no'))).toMatchObject({ kind: 'declined', code: 'payment_method_unusable' });
    expect(classifyGatewayError(new GatewayCurrencyError('no XOF'))).toMatchObject({ kind: 'unsupported', code: 'currency_unsupported' });
    expect(classifyGatewayError(new GatewayRefusedError('gateway_error', 'bad key'))).toMatchObject({ kind: 'refused', code: 'gateway_error' });
    expect(classifyGatewayError(new GatewayTransientError('socket hang up'))).toMatchObject({ kind: 'unavailable' });
    expect(classifyGatewayError(new Error('socket hang up'))).toBeUndefined();
  });
});

const plan: AcceptPlan = {
  acceptKey: 'ocu_key_00000001',
  offerId: 'offer_1',
  cartId: 'cart_1',
  parentOrderId: 'ord_1',
  parentExternalId: '1001',
  productId: 'prod_1',
  productName: 'Socks',
  amount: { value: 1500, currency: 'USD' },
  gateway: 'sandbox',
  customerRef: null,
  methodRef: 'pm_ok',
  email: 'buyer@example.com',
  strategy: 'child',
  orderKind: 'child',
  fellBackToChild: false,
  scaModal: true,
  scaTimeoutMs: 600_000,
  returnUrl: null,
};

const problemOf = (fn: () => unknown): MalformedRecordError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof MalformedRecordError) return err;
    throw err;
  }
  throw new Error('parsed a malformed record');
};

describe('stored records', () => {
  it('parse a stored plan as the plan', () => {
    expect(parseAcceptPlan(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
    expect(parseAcceptPlan({ ...plan, returnUrl: 'https://shop.example.com/thanks' }).returnUrl).toBe('https://shop.example.com/thanks');
  });

  it('read a plan recorded before return URLs as one without', () => {
    const older: Partial<AcceptPlan> = { ...plan };
    delete older.returnUrl;
    expect(parseAcceptPlan(older)).toEqual({ ...plan, returnUrl: null });
  });

  it('refuse a malformed stored plan with a typed error naming what is wrong', () => {
    const wrongAmount = problemOf(() => parseAcceptPlan({ ...plan, amount: { value: '1500', currency: 'USD' } }));
    expect(wrongAmount.column).toBe('validated plan');
    expect(wrongAmount.problems.join(' ')).toContain('/amount/value');
    expect(problemOf(() => parseAcceptPlan({ ...plan, strategy: 'merged' })).problems.join(' ')).toContain('/strategy');
    const noMethod: Partial<AcceptPlan> = { ...plan };
    delete noMethod.methodRef;
    expect(problemOf(() => parseAcceptPlan(noMethod)).problems.join(' ')).toContain('/methodRef');
    expect(problemOf(() => parseAcceptPlan('{"acceptKey":"x"}')).column).toBe('validated plan');
    expect(problemOf(() => parseAcceptPlan(null)).column).toBe('validated plan');
  });

  it('parse each recorded answer and state, and null as none', () => {
    expect(parseAcceptState(null)).toBeNull();
    const bodies = [
      { status: 'processing', accept_id: 'k' },
      { status: 'declined', accept_id: 'k', code: 'card_declined', message: 'm' },
      { status: 'rejected', accept_id: 'k', code: 'token_expired', message: 'm' },
      { status: 'error', accept_id: 'k', code: 'gateway_error', message: 'm' },
      { status: 'expired', accept_id: 'k', code: 'authentication_timeout', message: 'm' },
      {
        status: 'requires_action',
        accept_id: 'k',
        offer_id: 'o',
        amount: { value: 1, currency: 'EUR' },
        action: { type: 'modal', gateway: 'stripe', client_secret: 's' },
        status_url: '/s',
      },
      {
        status: 'succeeded',
        accept_id: 'k',
        offer_id: 'o',
        amount: { value: 1, currency: 'EUR' },
        parent_order: { id: 'p', external_id: '1' },
        order: { id: 'c', external_id: '2', kind: 'child' },
        strategy: 'child',
        fell_back_to_child: false,
      },
    ];
    for (const body of bodies) expect(parseAcceptState(body)).toEqual(body);
  });

  it('refuse a malformed stored answer with a typed error, never pass it on', () => {
    expect(problemOf(() => parseAcceptState({ status: 'paid', accept_id: 'k' }, 'accept response')).column).toBe('accept response');
    expect(() => parseAcceptState({ status: 'succeeded', accept_id: 'k' })).toThrow(MalformedRecordError);
    expect(() => parseAcceptState({ status: 'declined', accept_id: 'k', code: 'card_declined' })).toThrow(MalformedRecordError);
    expect(() => parseAcceptState('succeeded')).toThrow(MalformedRecordError);
  });
});
