import { upsertChatbot } from '#shared/use-cases/chatbots.ts';
import { toChatbotView } from '#shared/use-cases/views.ts';
import { httpRoute } from './http-route.ts';
import { ROUTE } from './routes.ts';

/** PUT /whatsapp-qr/chatbots/{chatbotId} — creates or updates the chatbot's settings. */
export const handler = httpRoute(ROUTE.UpsertChatbot, async ({ deps, tenantId, params, body }) => ({
  status: 200,
  json: toChatbotView(await upsertChatbot(deps, tenantId, params.chatbotId, body)),
}));
