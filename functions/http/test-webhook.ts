import { testWebhook } from '#shared/use-cases/webhooks.ts';
import { httpRoute } from './http-route.ts';
import { webhookDeps } from './route-deps.ts';
import { ROUTE } from './routes.ts';

/** POST /whatsapp-qr/webhooks/{webhookId}/test — 202 once a `webhook.test` event is queued for that endpoint. */
export const handler = httpRoute(ROUTE.TestWebhook, async ({ tenantId, params }) => ({
  status: 202,
  json: await testWebhook(webhookDeps(ROUTE.TestWebhook), tenantId, params.webhookId),
}));
