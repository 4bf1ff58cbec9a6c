import { listConversations } from '#shared/use-cases/read-api.ts';
import { httpRoute } from './http-route.ts';
import { ListConversationsRoute } from './routes.ts';

/** GET /whatsapp-qr/conversations?sessionId=… — the session's conversations by last activity, paged. */
export const handler = httpRoute(ListConversationsRoute, async ({ deps, tenantId, query }) => ({
  status: 200,
  json: await listConversations(deps, tenantId, query),
}));
