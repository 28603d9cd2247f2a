/** Wires the real dependencies into the activities and builds a Temporal worker. */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities/index.ts';
import { createRefundActivities } from '../activities/refunds.ts';
import { createWindowActivities } from '../activities/window.ts';
import { temporalConnectionOptions, type TemporalConfig } from '../config/env.ts';
import { activityLogContext } from './activity-log-context.ts';
import { instrumentGateways } from './instrumented-gateways.ts';
import type { WorkerMetrics } from './metrics.ts';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** Bundled with the workflows: labels workflow log lines with the offer and parent order. */
export const WORKFLOW_INTERCEPTOR_MODULES = [fileURLToPath(new URL('./workflow-log-context.ts', import.meta.url))];

export async function connectWorker(temporal: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect(temporalConnectionOptions(temporal));
}

export interface CreateWorkerOptions {
  connection: NativeConnection;
  temporal: TemporalConfig;
  deps: ActivityDeps;
  maxConcurrentActivities?: number;
  maxConcurrentWorkflowTasks?: number;
  /** times every gateway call into these metrics */
  metrics?: WorkerMetrics;
  /** a prebuilt bundle (worker/bundle.ts); without it the workflows are bundled now */
  workflowBundlePath?: string;
  /** on shutdown, how long running activities may finish before they are cancelled */
  shutdownGraceMs?: number;
  extra?: Partial<WorkerOptions>;
}

export async function createWorker(o: CreateWorkerOptions): Promise<Worker> {
  const gateways = o.metrics ? instrumentGateways(o.deps.gateways, o.metrics) : o.deps.gateways;
  // A prebuilt bundle already holds the workflow interceptor modules.
  const workflows = o.workflowBundlePath
    ? { workflowBundle: { codePath: o.workflowBundlePath }, interceptors: { activity: [activityLogContext] } }
    : { workflowsPath: WORKFLOWS_PATH, interceptors: { activity: [activityLogContext], workflowModules: WORKFLOW_INTERCEPTOR_MODULES } };
  return Worker.create({
    connection: o.connection,
    namespace: o.temporal.namespace,
    taskQueue: o.temporal.taskQueue,
    ...workflows,
    activities: { ...createActivities({ ...o.deps, gateways }), ...createRefundActivities({ ...o.deps, gateways }), ...createWindowActivities(o.deps) },
    maxConcurrentActivityTaskExecutions: o.maxConcurrentActivities ?? 100,
    maxConcurrentWorkflowTaskExecutions: o.maxConcurrentWorkflowTasks ?? 40,
    ...(o.shutdownGraceMs !== undefined ? { shutdownGraceTime: o.shutdownGraceMs } : {}),
    ...o.extra,
  });
}
