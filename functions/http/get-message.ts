import { getMessage } from '#shared/use-cases/messages.ts';
import { toMessageView } from '#shared/use-cases/views.ts';
import { httpRoute } from './http-route.ts';
import { GetMessageRoute } from './routes.ts';

/** GET /whatsapp-qr/messages/{messageId} */
export const handler = httpRoute(GetMessageRoute, async ({ deps, tenantId, params }) => ({
  status: 200,
  json: toMessageView(await getMessage(deps, tenantId, params.messageId)),
}));
