/**
 * Benchmark only: the floor workflows' worker (bench-empty-workflow.ts), in a process of its own
 * like the service's worker, so that its CPU is read from /proc apart from the load generator's.
 *   TEMPORAL_ADDRESS, BENCH_FLOOR_TASK_QUEUE
 */
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { FloorActivities } from './bench-empty-workflow.ts';

Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: ['SIGTERM', 'SIGINT'] });
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS });
const activities: FloorActivities = { noop: async () => undefined };
const worker = await Worker.create({
  connection,
  taskQueue: process.env.BENCH_FLOOR_TASK_QUEUE ?? 'bench-floor',
  workflowsPath: fileURLToPath(new URL('./bench-empty-workflow.ts', import.meta.url)),
  activities,
  // The service worker's slot counts (worker/worker.ts), so the floors run with the same limits.
  maxConcurrentActivityTaskExecutions: 100,
  maxConcurrentWorkflowTaskExecutions: 40,
});
console.log('worker started');
await worker.run();
await connection.close();
