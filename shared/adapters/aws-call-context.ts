import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which deployed component (its IAM role) an AWS call belongs to, for the IAM conformance check:
 * `route:<RouteId>`, `authorizer`, `ai`, `runner`. Only the local stand-ins of the Lambda runtime
 * set it (the local API gateway, the SQS event source); in AWS nothing reads it.
 */
export interface AwsCallContext {
  component: string;
}

const storage = new AsyncLocalStorage<AwsCallContext>();

/** Runs `fn` (and everything it starts) as `component`; AWS calls it makes are attributed to it. */
export const runAsComponent = <T>(component: string, fn: () => T): T => storage.run({ component }, fn);

/** The component of the code running now, if any (test setup and assertions have none). */
export const currentComponent = (): string | undefined => storage.getStore()?.component;
