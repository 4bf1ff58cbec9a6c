import { openApiDocument } from '#shared/contracts/openapi.ts';
import { httpRoute } from './http-route.ts';
import { GetOpenApiRoute, ROUTES } from './routes.ts';

/** GET /whatsapp-qr/openapi.json — the OpenAPI 3.1 document generated from the zod schemas. */
export const handler = httpRoute(GetOpenApiRoute, async () => ({
  status: 200,
  json: openApiDocument({ routes: ROUTES }),
}));
