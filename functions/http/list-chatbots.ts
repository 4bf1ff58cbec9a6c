import { listChatbots } from '#shared/use-cases/chatbots.ts';
import { toChatbotView } from '#shared/use-cases/views.ts';
import { httpRoute } from './http-route.ts';
import { ListChatbotsRoute } from './routes.ts';

/** GET /whatsapp-qr/chatbots — the tenant's chatbots, newest first, paged. */
export const handler = httpRoute(ListChatbotsRoute, async ({ deps, tenantId, query }) => {
  const page = await listChatbots(deps, tenantId, query);
  return { status: 200, json: { ...page, items: page.items.map(toChatbotView) } };
});
