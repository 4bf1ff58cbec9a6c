import { UsageQuery } from '#shared/contracts/http.ts';
import { getUsage } from '#shared/use-cases/read-api.ts';
import { readDeps } from '../composition-root.ts';
import { httpRoute } from './http-route.ts';

/** GET /whatsapp-qr/usage?from=YYYY-MM-DD&to=YYYY-MM-DD — the tenant's usage per day, every day listed. */
export const handler = httpRoute({ query: UsageQuery }, async ({ tenantId, query }) => ({
  status: 200,
  json: await getUsage(readDeps(), tenantId, query),
}));
