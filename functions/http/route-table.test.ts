import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApi, startLocalApi } from '#local/api-gateway.ts';
import { SendMessageResponse } from '#shared/contracts/http.ts';
import { openApiDocument } from '#shared/contracts/openapi.ts';
import * as z from '#shared/zod.ts';
import { runApiKeyDoor } from './api-key-door.ts';
import { checkResult, httpRoute, ResponseContractError } from './http-route.ts';
import { routeEnv } from './route-env.ts';
import { ROUTE, ROUTES, type RouteDefinition } from './routes.ts';

// The route table is the one source of the API: handlers, the local gateway, the OpenAPI document
// and (in infra/) the Lambdas and their grants all derive from it.

const ROOT = join(import.meta.dirname, '..', '..');
// biome-ignore lint/suspicious/noExplicitAny: walking the generated OpenAPI JSON
const doc = openApiDocument({ routes: ROUTES }) as any;

const aRoute = (overrides: Partial<RouteDefinition> = {}): RouteDefinition => ({
  id: 'Probe',
  method: 'POST',
  path: '/whatsapp-qr/probe',
  entry: 'functions/http/probe.ts',
  summary: 'probe',
  request: {},
  responses: { 202: SendMessageResponse },
  resources: { tables: {} },
  ...overrides,
});

const event = (): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: 'POST /whatsapp-qr/probe',
    rawPath: '/whatsapp-qr/probe',
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: { authorizer: { lambda: { tenantId: 'tenant-1' } } },
  }) as unknown as APIGatewayProxyEventV2;

describe('the route table', () => {
  it('names an existing handler module and a unique method and path for every route', () => {
    for (const route of ROUTES) expect(existsSync(join(ROOT, route.entry)), route.entry).toBe(true);
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(ROUTES.map((r) => r.id)).size).toBe(ROUTES.length);
  });

  it("gives each route's env exactly the resources it declares", () => {
    const keys = (route: RouteDefinition) => Object.keys(routeEnv(route).shape);
    expect(keys(ROUTE.GetOpenApi)).not.toEqual(expect.arrayContaining(['SESSIONS_TABLE']));
    expect(keys(ROUTE.GetOpenApi).filter((k) => k.endsWith('_TABLE') || k === 'COMMAND_QUEUE_URLS')).toEqual(
      [],
    );
    expect(keys(ROUTE.SendMessage)).toEqual(
      expect.arrayContaining([
        'SESSIONS_TABLE',
        'MESSAGES_TABLE',
        'REQUESTS_TABLE',
        'USAGE_TABLE',
        'COMMAND_QUEUE_URLS',
      ]),
    );
    expect(keys(ROUTE.GetUsage).filter((k) => k.endsWith('_TABLE'))).toEqual(['USAGE_TABLE']);
  });
});

describe('a handler result', () => {
  it('passes when it matches the schema of its status', () => {
    const ok = { status: 202, json: { messageId: '00000000-0000-4000-8000-000000000000', status: 'QUEUED' } };
    expect(checkResult(aRoute(), ok)).toBe(ok);
  });

  it('is a contract error when its JSON, its status or its media type is not declared', () => {
    expect(() =>
      checkResult(aRoute(), { status: 202, json: { messageId: 'nope', status: 'QUEUED' } }),
    ).toThrow(/answered 202 outside its contract: messageId/);
    expect(() => checkResult(aRoute(), { status: 200, json: {} })).toThrow(ResponseContractError);
    expect(() =>
      checkResult(aRoute(), { status: 202, text: '<svg/>', contentType: 'image/svg+xml' }),
    ).toThrow(/undeclared media type/);
    expect(
      checkResult(aRoute({ media: { 'image/svg+xml': 'string' } }), {
        status: 202,
        text: '<svg/>',
        contentType: 'image/svg+xml',
      }).status,
    ).toBe(202);
  });

  it('that breaks its contract leaves the handler as a 500 INTERNAL, never as the wrong body', async () => {
    const handler = httpRoute(aRoute({ responses: { 200: z.object({ count: z.number() }) } }), async () => ({
      status: 200,
      json: { count: 'three' },
    }));
    const response = (await handler(event() as never, {} as Context)) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body ?? '')).toEqual({
      error: { code: 'INTERNAL', message: 'Internal error' },
    });
  });
});

describe('the OpenAPI document', () => {
  it('documents every route of the table, with a relative server', () => {
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    for (const route of ROUTES) {
      expect(doc.paths[route.path]?.[route.method.toLowerCase()], route.id).toBeDefined();
    }
  });

  it('lists 405 with Allow on every route, 415 on routes with a body, and Retry-After on 429', () => {
    for (const route of ROUTES) {
      const responses = doc.paths[route.path][route.method.toLowerCase()].responses;
      expect(responses['405'].headers.Allow, route.id).toBeDefined();
      expect(responses['429'].headers['Retry-After'].schema.type, route.id).toBe('integer');
      expect(responses['415'] !== undefined, route.id).toBe(route.request.body !== undefined);
    }
  });
});

describe('the local gateway', () => {
  let api: LocalApi;
  beforeAll(async () => {
    api = await startLocalApi({ port: 0 });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers a method a path does not serve with 405 and the Allow header of the route table', async () => {
    const key = { 'x-api-key': 'wqg_any' }; // past the door: 404 and 405 come from route matching
    const res = await fetch(`${api.url}/whatsapp-qr/send`, { method: 'GET', headers: key });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
    const chatbots = await fetch(`${api.url}/whatsapp-qr/chatbots/bot-1`, { method: 'PATCH', headers: key });
    expect(chatbots.status).toBe(405);
    expect(chatbots.headers.get('allow')?.split(', ').sort()).toEqual(['DELETE', 'GET', 'PUT']);
  });

  it('answers an unknown path with 404 and no Allow header', async () => {
    const res = await fetch(`${api.url}/whatsapp-qr/nope`, { headers: { authorization: 'Bearer wqg_any' } });
    expect([res.status, res.headers.get('allow')]).toEqual([404, null]);
  });

  it('answers a request without a key at the door: 401 in the contract shape, the authorizer never runs', async () => {
    // This gateway has no tenants table: an authorizer that ran could only answer 503.
    const res = await fetch(`${api.url}/whatsapp-qr/status/00000000-0000-4000-8000-000000000000`, {
      headers: { authorization: 'Basic abc', 'x-api-key': '  ' },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    const withKey = await fetch(`${api.url}/whatsapp-qr/status/00000000-0000-4000-8000-000000000000`, {
      headers: { 'x-api-key': 'wqg_any' },
    });
    expect(withKey.status).toBe(503);
  });
});

describe('the API key door (the CloudFront function)', () => {
  it('passes a Bearer key on in x-api-key, and an x-api-key as it is', () => {
    const bearer = runApiKeyDoor({ authorization: 'Bearer wqg_abc' });
    expect(bearer).toEqual({
      headers: { authorization: { value: 'Bearer wqg_abc' }, 'x-api-key': { value: 'wqg_abc' } },
    });
    expect(runApiKeyDoor({ 'x-api-key': 'wqg_def' })).toEqual({
      headers: { 'x-api-key': { value: 'wqg_def' } },
    });
    // The Bearer key wins, as in the authorizer.
    const both = runApiKeyDoor({ authorization: 'bearer wqg_1', 'x-api-key': 'wqg_2' });
    expect('headers' in both && both.headers['x-api-key']).toEqual({ value: 'wqg_1' });
  });

  it('answers 401 itself when there is no key', () => {
    for (const headers of [
      {},
      { authorization: 'Bearer ' },
      { authorization: 'Basic eDp5' },
      { 'x-api-key': ' ' },
    ] as Record<string, string>[]) {
      const result = runApiKeyDoor(headers);
      expect('statusCode' in result && result.statusCode, JSON.stringify(headers)).toBe(401);
      if ('statusCode' in result) {
        expect(JSON.parse(result.body.data)).toEqual({
          error: { code: 'UNAUTHORIZED', message: expect.any(String) },
        });
      }
    }
  });
});
