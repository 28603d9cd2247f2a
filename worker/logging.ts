/**
 * The worker's logs: one pino JSON line per SDK, core, workflow or activity log entry, with the
 * accept's key (= workflow id), offer and parent order where known, and secrets blanked.
 */
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import type { DestinationStream, Logger } from 'pino';
import type { LogLevel } from '../config/env.ts';
import { createJsonLogger } from '../config/json-logger.ts';

export function createWorkerLogger(o: { level: LogLevel; secrets: readonly string[]; destination?: DestinationStream }): Logger {
  return createJsonLogger({ service: 'ocart-worker', ...o });
}

const SDK_LEVEL = { fatal: 'ERROR', error: 'ERROR', warn: 'WARN', info: 'INFO', debug: 'DEBUG', trace: 'TRACE', silent: 'ERROR' } as const;
const PINO_METHOD = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/** The Temporal SDK level that matches LOG_LEVEL (the SDK has no fatal or silent). */
export function sdkLogLevel(level: LogLevel): (typeof SDK_LEVEL)[LogLevel] {
  return SDK_LEVEL[level];
}

/** Webpack's build report when the worker bundles workflows at start: noise at info. */
function isBundlerReport(message: string): boolean {
  return message.includes('\n') && /webpack [\d.]+ compiled/.test(message);
}

/** Shapes one SDK log entry for pino: the workflow id doubles as the accept id, errors go under err. */
export function logFields(meta: Record<string | symbol, unknown> | undefined): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta ?? {})) {
    if (key === 'taskToken') continue; // opaque and long; activityId identifies the task
    if (key === 'workflowId' && typeof value === 'string') Object.assign(fields, { accept_id: value, workflow_id: value });
    else if (key === 'error') fields.err = value;
    else fields[key] = value;
  }
  return fields;
}

/** A Temporal Runtime logger that writes through pino (Runtime.install({ logger })). */
export function temporalLogger(log: Logger, level: LogLevel): DefaultLogger {
  return new DefaultLogger(sdkLogLevel(level), (entry: LogEntry) => {
    const method = isBundlerReport(entry.message) ? 'debug' : PINO_METHOD[entry.level];
    log[method](logFields(entry.meta), entry.message);
  });
}
