import { ConfigError, integer, loadSharedConfig, optional, type SharedConfig } from '../config/env.ts';
import { OUTBOX_RELAY_DEFAULTS } from './outbox-relay.ts';

export interface WorkerConfig extends SharedConfig {
  maxConcurrentActivities: number;
  maxConcurrentWorkflowTasks: number;
  metrics: {
    /** interface both metrics servers bind to (0.0.0.0 in a container) */
    host: string;
    /** our /metrics (gateway calls, SCA waits, outbox) and /healthz; 0 turns it off (the development default) */
    port: number;
    /** the Temporal SDK's own Prometheus exporter (worker slots, polls, task latencies); 0 turns it off */
    sdkPort: number;
  };
  /** the outbox relay (worker/outbox-relay.ts): its idle poll interval, its delay after an order write, and a claim's lease */
  outbox: { pollMs: number; wakeDelayMs: number; leaseMs: number };
  /** a workflow bundle prebuilt by `tsx worker/bundle.ts` (the image does); otherwise bundled at start */
  workflowBundlePath?: string;
}

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const shared = loadSharedConfig(env);
  const workflowBundlePath = optional(env, 'WORKER_WORKFLOW_BUNDLE');
  // On by default in production; in development (several workers on one machine: the run command,
  // benchmarks, the reliability suite) only when a port is given.
  const production = shared.env === 'production';
  const port = integer(env, 'WORKER_METRICS_PORT', production ? 9464 : 0, 0, 65535);
  const sdkPort = integer(env, 'WORKER_SDK_METRICS_PORT', production ? 9465 : 0, 0, 65535);
  if (port !== 0 && port === sdkPort) throw new ConfigError(`WORKER_SDK_METRICS_PORT must differ from WORKER_METRICS_PORT (both ${port})`);
  return {
    ...shared,
    maxConcurrentActivities: integer(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES', 100, 1, 2000),
    maxConcurrentWorkflowTasks: integer(env, 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 40, 2, 2000),
    metrics: { host: optional(env, 'WORKER_METRICS_HOST') ?? '127.0.0.1', port, sdkPort },
    outbox: {
      pollMs: integer(env, 'OUTBOX_POLL_MS', OUTBOX_RELAY_DEFAULTS.pollMs, 10, 60_000),
      wakeDelayMs: integer(env, 'OUTBOX_WAKE_DELAY_MS', OUTBOX_RELAY_DEFAULTS.wakeDelayMs, 0, 1_000),
      leaseMs: integer(env, 'OUTBOX_LEASE_MS', OUTBOX_RELAY_DEFAULTS.leaseMs, 1_000, 3_600_000),
    },
    ...(workflowBundlePath ? { workflowBundlePath } : {}),
  };
}
