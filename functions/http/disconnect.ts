import { DisconnectBody } from '#shared/contracts/http.ts';
import { disconnectSession } from '#shared/use-cases/sessions.ts';
import { httpRoute } from './http-route.ts';

/** POST /whatsapp-qr/disconnect — the runner closes the socket (and unlinks the device with `logout`). */
export const handler = httpRoute({ body: DisconnectBody }, async ({ deps, tenantId, body }) => {
  const session = await disconnectSession(deps, tenantId, body);
  return { status: 200, json: { sessionId: session.sessionId, status: session.status } };
});
