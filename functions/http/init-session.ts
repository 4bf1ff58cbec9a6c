import { initSession } from '#shared/use-cases/sessions.ts';
import { toSessionView } from '#shared/use-cases/views.ts';
import { httpRoute } from './http-route.ts';
import { InitSessionRoute } from './routes.ts';

/** POST /whatsapp-qr/init — 201 for a new session, 200 when the chatbot's session is restarted. */
export const handler = httpRoute(InitSessionRoute, async ({ deps, tenantId, body }) => {
  const { session, created } = await initSession(deps, tenantId, body);
  const { sessionId, chatbotId, status, pairingCode, createdAt, updatedAt } = toSessionView(session);
  return {
    status: created ? 201 : 200,
    json: { sessionId, chatbotId, status, ...(pairingCode && { pairingCode }), createdAt, updatedAt },
  };
});
