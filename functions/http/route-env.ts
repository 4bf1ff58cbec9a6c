import { TABLES, type TableKey } from '#shared/adapters/table-definitions.ts';
import { ApiEnv } from '#shared/config.ts';
import * as z from '#shared/zod.ts';
import type { RouteDefinition } from './routes.ts';

/**
 * ApiEnv keys that name an AWS resource, or set how one is used: a route gets one only when it
 * declares that resource.
 */
const resourceKeys = (): Map<string, (route: RouteDefinition) => boolean> =>
  new Map([
    ...(Object.keys(TABLES) as TableKey[]).map(
      (key) =>
        [TABLES[key].envKey, (route: RouteDefinition) => route.resources.tables[key] !== undefined] as const,
    ),
    ['COMMAND_QUEUE_URLS', (route: RouteDefinition) => route.resources.commands === 'send'] as const,
    [
      'WEBHOOK_DELIVERY_QUEUE_URL',
      (route: RouteDefinition) => route.resources.webhookDeliveries === 'send',
    ] as const,
    // The bucket of the tenants' files (under media/ only, see the grants in the stateless stack).
    ['AUTH_STATE_BUCKET', (route: RouteDefinition) => route.resources.media !== undefined] as const,
    // Which tenant URLs are accepted: routes that store webhooks, and the send route (media by url).
    [
      'WEBHOOK_ALLOW_LOOPBACK',
      (route: RouteDefinition) =>
        route.resources.tables.webhooks !== undefined || route.resources.media === 'read',
    ] as const,
  ]);

/** The ApiEnv resource keys a route does not declare (its Lambda is not given them, nor the access). */
export const undeclaredEnvKeys = (route: RouteDefinition): string[] =>
  [...resourceKeys()]
    .filter(([key, declared]) => key in ApiEnv.shape && !declared(route))
    .map(([key]) => key);

/**
 * A route's env schema: ApiEnv without the resources the route does not declare. The CDK app sets
 * exactly these keys on the route's Lambda (synth fails otherwise) and the handler parses them.
 */
export const routeEnv = (route: RouteDefinition): z.ZodMiniObject =>
  z.omit(ApiEnv, Object.fromEntries(undeclaredEnvKeys(route).map((key) => [key, true])) as never);
