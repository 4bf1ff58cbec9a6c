import { getChatbot } from '#shared/use-cases/chatbots.ts';
import { toChatbotView } from '#shared/use-cases/views.ts';
import { httpRoute } from './http-route.ts';
import { GetChatbotRoute } from './routes.ts';

/** GET /whatsapp-qr/chatbots/{chatbotId} — one of the tenant's chatbots. */
export const handler = httpRoute(GetChatbotRoute, async ({ deps, tenantId, params }) => ({
  status: 200,
  json: toChatbotView(await getChatbot(deps, tenantId, params.chatbotId)),
}));
