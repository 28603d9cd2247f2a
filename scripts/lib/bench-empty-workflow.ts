/**
 * Benchmark only: the emptiest workflow an accept could be, answered through the same
 * update-with-start as acceptUpsell. Its latency is what the Temporal server and SDK cost on this
 * machine before any of our work, the orchestrator's own floor.
 */
import { defineUpdate, setHandler } from '@temporalio/workflow';

export const emptyUpdate = defineUpdate<string>('benchEmpty');

export async function benchEmpty(): Promise<void> {
  setHandler(emptyUpdate, () => 'ok');
}
