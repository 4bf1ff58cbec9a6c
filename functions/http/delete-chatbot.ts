import { deleteChatbot } from '#shared/use-cases/chatbots.ts';
import { httpRoute } from './http-route.ts';
import { DeleteChatbotRoute } from './routes.ts';

/** DELETE /whatsapp-qr/chatbots/{chatbotId} — 204; 409 SESSION_EXISTS while it has a session. */
export const handler = httpRoute(DeleteChatbotRoute, async ({ deps, tenantId, params }) => {
  await deleteChatbot(deps, tenantId, params.chatbotId);
  return { status: 204, json: undefined };
});
