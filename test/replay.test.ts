/**
 * acceptUpsell replays its histories: those of today's runs (succeeded, declined, SCA approved,
 * rejected), and the histories committed under test/replay-histories/: `<name>.binpb` recorded from
 * the first shape to ship (validation a regular activity), `local-prepare-<name>.binpb` from the
 * shape after patch 'prepare-accept-local-activity' (validation a local activity in the first task),
 * `relay-<name>.binpb` from the shape after patch 'outbox-relay-delivers-events' (no delivery activity,
 * one upsert of our search attributes), `shape-3-<name>.binpb` from the shape after patch
 * 'first-task-shape-3' (one patch marker for the two before it; the memo and the parent order's
 * search attribute set at start by the API, so no memo upsert).
 * postPurchaseWindow replays `window-before-hold-<name>.binpb`, closed windows recorded before patch
 * 'window-close-unless-held' (closing by closeWindow, held only by acceptsInFlight): on its timer,
 * and held open through an accept's SCA.
 * A change to the workflow that would break runs already in flight after a deploy (a renamed
 * activity, a new step without patched()) fails here, not in production. Record new fixtures only
 * together with a deliberate, versioned change, under a new prefix:
 *   RECORD_REPLAY_HISTORIES=<prefix> node_modules/.bin/vitest run test/replay.test.ts
 * Failure stack traces are dropped from recorded fixtures: they name the recording machine's paths,
 * and replay does not read them.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_CODE_OPTIONS } from '../worker/worker.ts';
import { signToken } from '../domain/token.ts';
import { accept, readyToAccept } from './helpers/shop.ts';
import { newKey } from './helpers/ids.ts';
import { startTestStack, type TestStack } from './helpers/stack.ts';

const { History } = proto.temporal.api.history.v1;
const FIXTURES = fileURLToPath(new URL('./replay-histories/', import.meta.url));
const replayOptions = WORKFLOW_CODE_OPTIONS;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** Drops every failure's stack trace (in place), however deep it is nested in the history. */
function dropStackTraces(value: unknown, seen = new Set<unknown>()): void {
  if (!value || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  for (const [k, v] of Object.entries(value)) {
    if (k === 'stackTrace' && typeof v === 'string') Reflect.set(value, k, '');
    else dropStackTraces(v, seen);
  }
}

/** Replays each history; the failures, by workflow id (empty when every one replays). */
async function replayFailures(histories: HistoryAndWorkflowId[]): Promise<string[]> {
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories(replayOptions, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  return failures;
}

describe('workflow replay', () => {
  it("today's runs replay on today's code: succeeded (with and without a price on the token), declined, SCA approved, rejected", async () => {
    const runs: Array<{ name: string; key: string }> = [];
    const start = async (name: string, methodRef: string, parentStatus: 'paid' | 'pending' = 'paid', priceless = false) => {
      const { offer, order, body } = await readyToAccept(stack.app, { methodRef, status: parentStatus });
      const key = newKey();
      // A token minted before prices were carried: the run starts with no memo and sets it itself.
      const token = priceless ? signToken({ offerId: offer.id, orderId: order.externalId, cartId: order.cartId }, stack.config.tokenKeys, new Date(), 30).token : body.token;
      const res = await accept(stack.app, offer.id, key, { ...body, token });
      runs.push({ name, key });
      return res;
    };
    expect((await start('succeeded', 'pm_card_visa')).statusCode).toBe(200);
    expect((await start('succeeded-without-price', 'pm_card_visa', 'paid', true)).statusCode).toBe(200);
    expect((await start('declined', 'pm_card_chargeDeclined')).statusCode).toBe(402);
    // Rejected by the worker's validation (a forged token no longer reaches a workflow at all).
    expect((await start('rejected', 'pm_card_visa', 'pending')).statusCode).toBe(409);
    const sca = await start('sca-approved', 'pm_card_authenticationRequired');
    expect(sca.statusCode).toBe(202);
    const chargeId = String(sca.json<{ action: { client_secret: string } }>().action.client_secret).replace(/_secret$/, '');
    const approve = await stack.app.inject({ method: 'POST', url: `/sandbox/authenticate/${chargeId}`, payload: { result: 'approve' } });
    expect(approve.statusCode).toBe(200);

    const histories: HistoryAndWorkflowId[] = [];
    for (const { name, key } of runs) {
      const handle = stack.client.workflow.getHandle(key);
      await handle.result();
      const history = await handle.fetchHistory();
      expect(history.events?.length ?? 0, name).toBeGreaterThan(5);
      histories.push({ workflowId: key, history });
      if (process.env.RECORD_REPLAY_HISTORIES) {
        // Binary protobuf, encoded and decoded by the proto package the worker itself uses (the JSON
        // helpers in @temporalio/common bring a second protobufjs copy that cannot read these types).
        mkdirSync(FIXTURES, { recursive: true });
        const recorded = History.decode(History.encode(history).finish());
        dropStackTraces(recorded);
        writeFileSync(`${FIXTURES}${process.env.RECORD_REPLAY_HISTORIES}-${name}.binpb`, History.encode(recorded).finish());
      }
    }
    expect(await replayFailures(histories)).toEqual([]);
  });

  it("the committed histories of the four shipped shapes replay on today's code", async () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.binpb') && !f.startsWith('window-before-hold-'));
    const names = ['declined', 'rejected', 'sca-approved', 'succeeded'];
    // Since shape 3 the start carries the token's price as memo; a token without one is recorded too.
    const shapes = ['', 'local-prepare-', 'relay-', 'shape-3-'].flatMap((prefix) => names.map((n) => `${prefix}${n}.binpb`));
    expect(files.sort()).toEqual([...shapes, 'shape-3-succeeded-without-price.binpb'].sort());
    const histories = files.map((f) => ({ workflowId: `fixture-${f.replace(/\.binpb$/, '')}`, history: History.decode(readFileSync(`${FIXTURES}${f}`)) }));
    expect(await replayFailures(histories)).toEqual([]);
  });

  it('a run an older worker made of a start that carried the memo (a rolling deploy) replays', async () => {
    // The API sets the memo at start since 'first-task-shape-3'; a worker from before still upserts
    // it. Its history is the older shape's with the memo in the start event.
    const histories = ['relay-succeeded', 'relay-sca-approved'].map((name) => {
      const history = History.decode(readFileSync(`${FIXTURES}${name}.binpb`));
      const events = history.events ?? [];
      const upserted = events.find((e) => e.workflowPropertiesModifiedEventAttributes)?.workflowPropertiesModifiedEventAttributes?.upsertedMemo;
      const started = events[0]?.workflowExecutionStartedEventAttributes;
      expect(upserted?.fields?.amount, name).toBeDefined();
      started!.memo = upserted!;
      return { workflowId: `memo-at-start-${name}`, history };
    });
    expect(await replayFailures(histories)).toEqual([]);
  });

  it("windows closed before patch 'window-close-unless-held' replay on today's code", async () => {
    const files = readdirSync(FIXTURES).filter((f) => f.startsWith('window-before-hold-') && f.endsWith('.binpb'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    const histories = files.map((f) => ({ workflowId: f, history: History.decode(readFileSync(`${FIXTURES}${f}`)) }));
    expect(await replayFailures(histories)).toEqual([]);
  });
});
