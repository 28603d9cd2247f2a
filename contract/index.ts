/**
 * The contract: every shape that crosses a process boundary (HTTP, Temporal history, the accepts
 * table), defined once as TypeBox schemas with their static types. The API's route schemas, the
 * workflows, the activities, the stored records and the OpenAPI document all derive from it.
 */
export * from './money.ts';
export * from './errors.ts';
export * from './accept.ts';
export * from './activities.ts';
export * from './reconcile.ts';
export * from './failures.ts';
export * from './refusals.ts';
export * from './records.ts';
