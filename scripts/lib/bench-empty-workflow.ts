/**
 * Benchmark only: the two Temporal floors, answered through the same update-with-start as
 * acceptUpsell. benchEmpty is the emptiest workflow an accept could be; benchThreeLocal runs three
 * no-op local activities in its first workflow task before it answers, the shape of the accept's
 * happy path (validate, charge, write the order) without any of its work. Their latency and CPU are
 * what the Temporal server and SDK cost on this machine before any of ours.
 */
import { allHandlersFinished, condition, defineUpdate, proxyLocalActivities, setHandler } from '@temporalio/workflow';

export const emptyUpdate = defineUpdate<string>('benchEmpty');

export async function benchEmpty(): Promise<void> {
  setHandler(emptyUpdate, () => 'ok');
}

export interface FloorActivities {
  noop(): Promise<void>;
}

const local = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '10 seconds' });

export async function benchThreeLocal(): Promise<void> {
  let done = false;
  setHandler(emptyUpdate, async () => {
    await condition(() => done);
    return 'ok';
  });
  await local.noop();
  await local.noop();
  await local.noop();
  done = true;
  await condition(allHandlersFinished);
}
