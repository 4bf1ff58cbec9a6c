import { testWebhook } from '#shared/use-cases/webhooks.ts';
import { httpRoute } from './http-route.ts';
import { webhookDeps } from './route-deps.ts';
import { TestWebhookRoute } from './routes.ts';

/** POST /whatsapp-qr/webhooks/{webhookId}/test — 202 once a `webhook.test` event is queued for that endpoint. */
export const handler = httpRoute(TestWebhookRoute, async ({ tenantId, params }) => ({
  status: 202,
  json: await testWebhook(webhookDeps(TestWebhookRoute), tenantId, params.webhookId),
}));
