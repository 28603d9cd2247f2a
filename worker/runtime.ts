/**
 * The process-wide Temporal Runtime, installed once before any connection: JSON logs for the SDK,
 * core, workflows and activities, the SDK's Prometheus exporter, and drain on SIGTERM/SIGINT.
 */
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { LogLevel } from '../config/env.ts';
import { temporalLogger } from './logging.ts';

export interface WorkerRuntimeOptions {
  log: Logger;
  level: LogLevel;
  /** the SDK's own metrics (temporal_*), served at http://host:port/metrics */
  sdkMetrics?: { host: string; port: number };
  /** the signals that start a drain; none in tests, which stop their workers themselves */
  shutdownSignals?: NodeJS.Signals[];
}

export function installWorkerRuntime(o: WorkerRuntimeOptions): Runtime {
  const host = o.sdkMetrics?.host.includes(':') ? `[${o.sdkMetrics.host}]` : o.sdkMetrics?.host;
  // Core's debug lines quote history payloads (workflow input included): only at LOG_LEVEL=trace.
  const coreLevel = o.level === 'trace' ? 'DEBUG' : 'WARN';
  return Runtime.install({
    logger: temporalLogger(o.log, o.level),
    telemetryOptions: {
      // Core's own (Rust) lines go through the same logger instead of straight to the console.
      logging: { filter: { core: coreLevel, other: 'ERROR' }, forward: {} },
      ...(o.sdkMetrics
        ? {
            metrics: {
              // Names as Temporal's published SDK dashboards expect them (…_seconds, …_total).
              prometheus: { bindAddress: `${host}:${o.sdkMetrics.port}`, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true },
            },
          }
        : {}),
    },
    shutdownSignals: o.shutdownSignals ?? ['SIGINT', 'SIGTERM'],
  });
}
