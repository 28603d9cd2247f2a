/** The one pino setup both processes log through: JSON lines, ISO time, named level, secrets blanked. */
import { hostname } from 'node:os';
import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import { scrubSecrets, type LogLevel } from './env.ts';

/** Field paths blanked in every process's lines, whatever object they hang off. */
export const SECRET_FIELD_PATHS = [
  'token',
  '*.token',
  'client_secret',
  '*.client_secret',
  'clientSecret',
  '*.clientSecret',
  'authorization',
  '*.authorization',
  'apiKey',
  '*.apiKey',
  'secretKey',
  '*.secretKey',
  'webhookSecret',
  '*.webhookSecret',
  'tokenKeys',
  '*.tokenKeys',
  'secret',
  '*.secret',
];

export interface JsonLoggerOptions {
  service: 'ocart-api' | 'ocart-worker';
  level: LogLevel;
  /** values scrubbed from every line (config/env.ts secretValues) */
  secrets: readonly string[];
  /** paths blanked beyond SECRET_FIELD_PATHS */
  redact?: readonly string[];
  /** where lines go; stdout by default (tests pass a capture stream) */
  destination?: DestinationStream;
}

export function createJsonLogger(o: JsonLoggerOptions): Logger {
  return pino(
    {
      level: o.level,
      base: { service: o.service, pid: process.pid, hostname: hostname() },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...new Set([...SECRET_FIELD_PATHS, ...(o.redact ?? [])])], censor: '[Redacted]' },
      hooks: { streamWrite: (line) => scrubSecrets(line, o.secrets) },
    },
    o.destination ?? process.stdout,
  );
}
