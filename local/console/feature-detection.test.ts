import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/http/routes.ts';
import { openApiDocument } from '#shared/contracts/openapi.ts';

// The console shows a screen only when the API's OpenAPI document lists its routes: checked against
// the document the API really serves, so a change of its path format cannot hide screens silently.

type Detect = (document: unknown, base: string) => Record<string, boolean>;
const { detectFeatures } = (await import(join(import.meta.dirname, 'public', 'api.js'))) as {
  detectFeatures: Detect;
};

const OPTIONAL: Record<string, [method: string, path: string][]> = {
  listSessions: [['GET', '/whatsapp-qr/sessions']],
  deleteSession: [['DELETE', '/whatsapp-qr/sessions/{sessionId}']],
  webhooks: [
    ['GET', '/whatsapp-qr/webhooks'],
    ['POST', '/whatsapp-qr/webhooks'],
  ],
  deleteWebhook: [['DELETE', '/whatsapp-qr/webhooks/{webhookId}']],
  testWebhook: [['POST', '/whatsapp-qr/webhooks/{webhookId}/test']],
  deliveries: [['GET', '/whatsapp-qr/webhooks/{webhookId}/deliveries']],
};

describe('the console’s feature detection', () => {
  it('turns on exactly the screens whose routes the served OpenAPI document lists', () => {
    const served = (method: string, path: string) =>
      ROUTES.some((r) => r.method === method && r.path === path);
    const expected = Object.fromEntries(
      Object.entries(OPTIONAL).map(([feature, routes]) => [feature, routes.every(([m, p]) => served(m, p))]),
    );
    expect(detectFeatures(openApiDocument({ routes: ROUTES }), '/whatsapp-qr')).toEqual(expected);
  });

  it('shows every optional screen for a document with all their routes, none for an empty one', () => {
    const paths: Record<string, Record<string, object>> = {};
    for (const [method, path] of Object.values(OPTIONAL).flat()) {
      paths[path] = { ...paths[path], [method.toLowerCase()]: {} };
    }
    expect(Object.values(detectFeatures({ paths }, '/whatsapp-qr')).every(Boolean)).toBe(true);
    expect(Object.values(detectFeatures({}, '/whatsapp-qr')).some(Boolean)).toBe(false);
    expect(Object.values(detectFeatures(undefined, '/whatsapp-qr')).some(Boolean)).toBe(false);
  });
});
