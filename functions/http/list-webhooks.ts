import { listWebhooks } from '#shared/use-cases/webhooks.ts';
import { httpRoute } from './http-route.ts';
import { webhookDeps } from './route-deps.ts';
import { ListWebhooksRoute } from './routes.ts';

/** GET /whatsapp-qr/webhooks — the tenant's endpoints, without their secrets. */
export const handler = httpRoute(ListWebhooksRoute, async ({ tenantId }) => ({
  status: 200,
  json: await listWebhooks(webhookDeps(ListWebhooksRoute), tenantId),
}));
