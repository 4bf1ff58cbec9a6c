import { listConversationMessages } from '#shared/use-cases/read-api.ts';
import { httpRoute } from './http-route.ts';
import { ListConversationMessagesRoute } from './routes.ts';

/** GET /whatsapp-qr/conversations/{conversationId}/messages — the conversation's messages by time, paged. */
export const handler = httpRoute(
  ListConversationMessagesRoute,
  async ({ deps, tenantId, params, query }) => ({
    status: 200,
    json: await listConversationMessages(deps, tenantId, params.conversationId, query),
  }),
);
