import { ConversationIdParams } from '#shared/contracts/http.ts';
import { MessagesPageQuery } from '#shared/contracts/read-api.ts';
import { listConversationMessages } from '#shared/use-cases/read-api.ts';
import { httpRoute } from './http-route.ts';

/** GET /whatsapp-qr/conversations/{conversationId}/messages — the conversation's messages by time, paged. */
export const handler = httpRoute(
  { params: ConversationIdParams, query: MessagesPageQuery },
  async ({ deps, tenantId, params, query }) => ({
    status: 200,
    json: await listConversationMessages(deps, tenantId, params.conversationId, query),
  }),
);
