import { MessageIdParams } from '#shared/contracts/http.ts';
import { getMessage } from '#shared/use-cases/messages.ts';
import { toMessageView } from '#shared/use-cases/views.ts';
import { httpRoute } from './http-route.ts';

/** GET /whatsapp-qr/messages/{messageId} */
export const handler = httpRoute({ params: MessageIdParams }, async ({ deps, tenantId, params }) => ({
  status: 200,
  json: toMessageView(await getMessage(deps, tenantId, params.messageId)),
}));
