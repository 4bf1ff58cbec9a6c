import { type AwsClients, createAwsClients } from '#shared/adapters/aws-clients.ts';
import { type ApiConfig, loadConfig } from '#shared/config.ts';
import type { GatewayDeps } from '#shared/use-cases/deps.ts';
import { buildGatewayDeps } from '../composition-root.ts';
import { routeEnv, undeclaredEnvKeys } from './route-env.ts';
import type { RouteDefinition } from './routes.ts';

// A route's ports, built once per container from its own env (see route-env.ts). A resource the
// route did not declare gets a name that exists nowhere, so touching it fails loudly in every
// environment (in AWS the role would refuse it anyway), instead of working locally only.

const UNDECLARED = 'undeclared-by-this-route';
let clients: AwsClients | undefined;
const built = new Map<string, GatewayDeps>();

/** The tenant API's ports as the route's Lambda has them: only its declared resources work. */
export const routeDeps = (route: RouteDefinition): GatewayDeps => {
  let deps = built.get(route.id);
  if (!deps) {
    const config = loadConfig(routeEnv(route)) as Partial<ApiConfig>;
    const placeholders = Object.fromEntries(
      undeclaredEnvKeys(route).map((key) => [
        key,
        key === 'COMMAND_QUEUE_URLS' ? [`https://${UNDECLARED}.invalid/commands`] : UNDECLARED,
      ]),
    );
    clients ??= createAwsClients(config);
    deps = buildGatewayDeps({ ...placeholders, ...config } as ApiConfig, clients);
    built.set(route.id, deps);
  }
  return deps;
};
