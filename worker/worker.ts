/** Wires the real dependencies into the activities and builds a Temporal worker. */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.ts';
import type { TemporalConfig } from '../config/env.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export async function connectWorker(temporal: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect({
    address: temporal.address,
    ...(temporal.tls || temporal.apiKey ? { tls: true } : {}),
    ...(temporal.apiKey ? { apiKey: temporal.apiKey } : {}),
  });
}

export interface CreateWorkerOptions {
  connection: NativeConnection;
  temporal: TemporalConfig;
  deps: ActivityDeps;
  maxConcurrentActivities?: number;
  maxConcurrentWorkflowTasks?: number;
  extra?: Partial<WorkerOptions>;
}

export async function createWorker(o: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.temporal.namespace,
    taskQueue: o.temporal.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities(o.deps),
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivities ?? 100,
    maxConcurrentWorkflowTaskExecutions: o.maxConcurrentWorkflowTasks ?? 40,
    ...o.extra,
  });
}
