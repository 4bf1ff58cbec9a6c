import { deleteSession } from '#shared/use-cases/session-management.ts';
import { httpRoute } from './http-route.ts';
import { DeleteSessionRoute } from './routes.ts';

/** DELETE /whatsapp-qr/sessions/{sessionId} — 202: the runner unlinks and deletes it (`?purge=true`: its messages too). */
export const handler = httpRoute(DeleteSessionRoute, async ({ deps, tenantId, params, query }) => ({
  status: 202,
  json: await deleteSession(deps, tenantId, params.sessionId, { purge: query.purge }),
}));
