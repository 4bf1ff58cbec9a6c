import { createWebhook } from '#shared/use-cases/webhooks.ts';
import { httpRoute } from './http-route.ts';
import { webhookDeps } from './route-deps.ts';
import { CreateWebhookRoute } from './routes.ts';

/** POST /whatsapp-qr/webhooks — 201 with the `whsec_` secret (shown this once); 400 names a bad URL or event type. */
export const handler = httpRoute(CreateWebhookRoute, async ({ tenantId, body }) => ({
  status: 201,
  json: await createWebhook(webhookDeps(CreateWebhookRoute), tenantId, body),
}));
