import { describe, expect, it } from 'vitest';
import { bundleDefines } from '../../infra/constructs/app-function.ts';
import { routeDeps } from './route-deps.ts';
import { routeEnv } from './route-env.ts';
import { ROUTE, ROUTES } from './routes.ts';

describe('the ports of a route that declares no table', () => {
  it('refuses every port, naming the route, instead of reaching a table', () => {
    const deps = routeDeps(ROUTE.GetOpenApi);
    expect(() => deps.sessions).toThrow(/GetOpenApi declares no table: its sessions port/);
    expect(() => deps.tenants).toThrow(/declares no table/);
  });

  it('is bundled without the DynamoDB client, and exactly the routes without a table are', () => {
    const without = ROUTES.filter(
      (route) => bundleDefines(routeEnv(route))['process.env.BUNDLE_WITHOUT_DYNAMODB'] === '"true"',
    ).map((route) => route.id);
    expect(without).toContain('GetOpenApi');
    expect(without).not.toContain('GetStatus');
    expect(without.sort()).toEqual(
      ROUTES.filter((route) => Object.keys(route.resources.tables).length === 0)
        .map((route) => route.id)
        .sort(),
    );
  });
});
