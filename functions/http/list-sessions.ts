import { listSessions } from '#shared/use-cases/session-management.ts';
import { toSessionView } from '#shared/use-cases/views.ts';
import { httpRoute } from './http-route.ts';
import { ListSessionsRoute } from './routes.ts';

/** GET /whatsapp-qr/sessions — the tenant's sessions with the status it sees, filtered and paged. */
export const handler = httpRoute(ListSessionsRoute, async ({ deps, tenantId, query }) => {
  const page = await listSessions(deps, tenantId, query);
  return { status: 200, json: { ...page, items: page.items.map(toSessionView) } };
});
