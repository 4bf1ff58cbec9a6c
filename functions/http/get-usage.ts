import { getUsage } from '#shared/use-cases/read-api.ts';
import { httpRoute } from './http-route.ts';
import { GetUsageRoute } from './routes.ts';

/** GET /whatsapp-qr/usage?from=YYYY-MM-DD&to=YYYY-MM-DD — the tenant's usage per day, every day listed. */
export const handler = httpRoute(GetUsageRoute, async ({ deps, tenantId, query }) => ({
  status: 200,
  json: await getUsage(deps, tenantId, query),
}));
