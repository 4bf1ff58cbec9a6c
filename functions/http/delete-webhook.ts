import { deleteWebhook } from '#shared/use-cases/webhooks.ts';
import { httpRoute } from './http-route.ts';
import { webhookDeps } from './route-deps.ts';
import { ROUTE } from './routes.ts';

/** DELETE /whatsapp-qr/webhooks/{webhookId} — 204; 404 for an unknown or another tenant's id. */
export const handler = httpRoute(ROUTE.DeleteWebhook, async ({ tenantId, params }) => {
  await deleteWebhook(webhookDeps(ROUTE.DeleteWebhook), tenantId, params.webhookId);
  return { status: 204, json: undefined };
});
