import { getSessionStatus } from '#shared/use-cases/sessions.ts';
import { toSessionView } from '#shared/use-cases/views.ts';
import { httpRoute } from './http-route.ts';
import { GetStatusRoute } from './routes.ts';

/** GET /whatsapp-qr/status/{sessionId} */
export const handler = httpRoute(GetStatusRoute, async ({ deps, tenantId, params }) => {
  const {
    pairingCode: _p,
    createdAt: _c,
    ...view
  } = toSessionView(await getSessionStatus(deps, tenantId, params.sessionId));
  return { status: 200, json: view };
});
