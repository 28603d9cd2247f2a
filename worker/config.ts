import { integer, loadSharedConfig, type SharedConfig } from '../config/env.ts';

export interface WorkerConfig extends SharedConfig {
  maxConcurrentActivities: number;
  maxConcurrentWorkflowTasks: number;
}

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  return {
    ...loadSharedConfig(env),
    maxConcurrentActivities: integer(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES', 100, 1, 2000),
    maxConcurrentWorkflowTasks: integer(env, 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 40, 2, 2000),
  };
}
