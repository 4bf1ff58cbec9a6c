import { listDeliveries } from '#shared/use-cases/webhooks.ts';
import { httpRoute } from './http-route.ts';
import { webhookDeps } from './route-deps.ts';
import { ListWebhookDeliveriesRoute } from './routes.ts';

/** GET /whatsapp-qr/webhooks/{webhookId}/deliveries?cursor=&limit= — the endpoint's deliveries, newest first. */
export const handler = httpRoute(ListWebhookDeliveriesRoute, async ({ tenantId, params, query }) => ({
  status: 200,
  json: await listDeliveries(webhookDeps(ListWebhookDeliveriesRoute), tenantId, params.webhookId, query),
}));
