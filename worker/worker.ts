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
/**
 * Evaluated once per worker in the SDK's reusable V8 context and shared by every run, where each run
 * would otherwise evaluate them again: our workflow modules, the interceptor module, and everything
 * they import (the SDK's workflow API, the schema-free contract modules). Safe because none of them
 * keeps state at module level: the SDK freezes what a shared module exports, but not what it keeps
 * unexported (a retry options object, a proxy), so such values must never be changed after load.
 * test/unit/workflow-bundle.test.ts refuses a top-level variable or collection in our sources.
 */
export const WORKFLOW_PRELOAD_MODULES = [WORKFLOWS_PATH, ...WORKFLOW_INTERCEPTOR_MODULES];
/** How the workflows are bundled, for bundleWorkflowCode (the prebuilt bundle). */
export const WORKFLOW_BUNDLE_OPTIONS = { workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, preloadModules: WORKFLOW_PRELOAD_MODULES };
/** The same as worker options: the worker bundles with them at start, and the replay tests replay with them. */
export const WORKFLOW_CODE_OPTIONS = {
  workflowsPath: WORKFLOWS_PATH,
  interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES },
  bundlerOptions: { preloadModules: WORKFLOW_PRELOAD_MODULES },
} satisfies Partial<WorkerOptions>;

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
    : { ...WORKFLOW_CODE_OPTIONS, interceptors: { ...WORKFLOW_CODE_OPTIONS.interceptors, activity: [activityLogContext] } };
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
