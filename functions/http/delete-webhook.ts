import { deleteWebhook } from '#shared/use-cases/webhooks.ts';
import { httpRoute } from './http-route.ts';
import { webhookDeps } from './route-deps.ts';
import { DeleteWebhookRoute } from './routes.ts';

/** DELETE /whatsapp-qr/webhooks/{webhookId} — 204; 404 for an unknown or another tenant's id. */
export const handler = httpRoute(DeleteWebhookRoute, async ({ tenantId, params }) => {
  await deleteWebhook(webhookDeps(DeleteWebhookRoute), tenantId, params.webhookId);
  return { status: 204, json: undefined };
});
