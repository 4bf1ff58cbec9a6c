import { upsertChatbot } from '#shared/use-cases/chatbots.ts';
import { toChatbotView } from '#shared/use-cases/views.ts';
import { httpRoute } from './http-route.ts';
import { UpsertChatbotRoute } from './routes.ts';

/** PUT /whatsapp-qr/chatbots/{chatbotId} — creates or updates the chatbot's settings. */
export const handler = httpRoute(UpsertChatbotRoute, async ({ deps, tenantId, params, body }) => ({
  status: 200,
  json: toChatbotView(await upsertChatbot(deps, tenantId, params.chatbotId, body)),
}));
