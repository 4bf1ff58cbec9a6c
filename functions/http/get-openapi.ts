import { openApiDocument } from '#shared/contracts/openapi.ts';
import { httpRoute } from './http-route.ts';

/** GET /whatsapp-qr/openapi.json — the OpenAPI 3.1 document generated from the zod schemas. */
export const handler = httpRoute({}, async () => ({ status: 200, json: openApiDocument() }));
