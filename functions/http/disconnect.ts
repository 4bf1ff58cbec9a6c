import { disconnectSession } from '#shared/use-cases/sessions.ts';
import { httpRoute } from './http-route.ts';
import { DisconnectRoute } from './routes.ts';

/** POST /whatsapp-qr/disconnect — 202: the runner closes the socket (and unlinks the device with `logout`). */
export const handler = httpRoute(DisconnectRoute, async ({ deps, tenantId, body }) => {
  const session = await disconnectSession(deps, tenantId, body);
  return {
    status: 202,
    json: { sessionId: session.sessionId, status: session.status, desiredState: 'STOPPED' },
  };
});
