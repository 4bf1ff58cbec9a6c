import { getSessionByChatbot } from '#shared/use-cases/sessions.ts';
import { toChatbotView, toSessionView } from '#shared/use-cases/views.ts';
import { httpRoute } from './http-route.ts';
import { GetSessionByChatbotRoute } from './routes.ts';

/** GET /whatsapp-qr/session/{chatbotId} — the chatbot's session, with the chatbot. */
export const handler = httpRoute(GetSessionByChatbotRoute, async ({ deps, tenantId, params }) => {
  const { session, chatbot } = await getSessionByChatbot(deps, tenantId, params.chatbotId);
  return { status: 200, json: { ...toSessionView(session), chatbot: toChatbotView(chatbot) } };
});
