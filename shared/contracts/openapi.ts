import * as z from '../zod.ts';
import { ErrorResponse } from './http.ts';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType, webhookEnvelopeSchema } from './webhook-events.ts';

/**
 * The shape of a route the document is generated from: functions/http/routes.ts declares the
 * routes (this layer does not import the apps; the route handler passes them in).
 */
export interface OpenApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  summary: string;
  request: {
    body?: z.ZodMiniType;
    params?: z.ZodMiniType;
    query?: z.ZodMiniType;
    /** By lower-case header name. */
    headers?: Record<string, z.ZodMiniType>;
  };
  responses: Record<number, z.ZodMiniType>;
  /** Extra media types of the success response, with their string format. */
  media?: Record<string, string>;
  /** Error statuses beyond the ones every route with input may answer. */
  errors?: number[];
}

/** Every route: 401 without a valid key, 405 for a method the path does not serve, 429 when throttled. */
const ALWAYS = [401, 405, 429];
/** Routes with input: also invalid input, unknown ids, too large a request, a dependency down. */
const WITH_INPUT = [400, 404, 413, 503];

const errorStatuses = (route: OpenApiRoute): number[] => {
  const { body, params, query, headers } = route.request;
  const hasInput = Boolean(body || params || query || (headers && Object.keys(headers).length));
  const statuses = new Set([
    ...ALWAYS,
    ...(hasInput ? WITH_INPUT : []),
    ...(body ? [415] : []),
    ...(route.errors ?? []),
  ]);
  return [...statuses].sort((a, b) => a - b);
};

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (VALIDATION_FAILED, MALFORMED_JSON, …) with every bad field in `details`',
  401: 'No valid API key (UNAUTHORIZED)',
  404: 'No such resource for this tenant',
  405: 'The path does not serve this method (METHOD_NOT_ALLOWED); `Allow` lists the methods it serves',
  409: 'The resource is not in a state that allows this',
  413: 'The request is too large (PAYLOAD_TOO_LARGE)',
  415: 'The body is not JSON (UNSUPPORTED_MEDIA_TYPE)',
  429: 'Too many requests (RATE_LIMITED); retry after `Retry-After` seconds when given',
  503: 'A dependency is unavailable (SERVICE_UNAVAILABLE); retry later',
};

const ERROR_HEADERS: Record<number, Record<string, unknown>> = {
  405: {
    Allow: { description: 'The methods this path serves', schema: { type: 'string' } },
  },
  429: {
    'Retry-After': {
      description: 'Seconds to wait before retrying (sent with RATE_LIMITED)',
      schema: { type: 'integer', minimum: 0 },
    },
  },
};

const schema = (type: z.ZodMiniType, io: 'input' | 'output') =>
  z.toJSONSchema(type, { io, unrepresentable: 'any' });

const shapeOf = (type: z.ZodMiniType | undefined): Record<string, z.ZodMiniType> =>
  type instanceof z.ZodMiniObject ? (type.shape as Record<string, z.ZodMiniType>) : {};

const parameters = (op: OpenApiRoute) => [
  ...Object.entries(shapeOf(op.request.params)).map(([name, s]) => ({
    name,
    in: 'path',
    required: true,
    schema: schema(s as z.ZodMiniType, 'input'),
  })),
  ...Object.entries(shapeOf(op.request.query)).map(([name, s]) => ({
    name,
    in: 'query',
    required: !(s as z.ZodMiniType).safeParse(undefined).success,
    schema: schema(s as z.ZodMiniType, 'input'),
  })),
  ...Object.entries(op.request.headers ?? {}).map(([name, s]) => ({
    name,
    in: 'header',
    required: !s.safeParse(undefined).success,
    schema: schema(s, 'input'),
  })),
];

const operation = (op: OpenApiRoute) => ({
  summary: op.summary,
  operationId: `${op.method.toLowerCase()}${op.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
  security: [{ bearer: [] }, { apiKey: [] }],
  parameters: parameters(op),
  ...(op.request.body && {
    requestBody: {
      required: true,
      content: { 'application/json': { schema: schema(op.request.body, 'input') } },
    },
  }),
  responses: {
    ...Object.fromEntries(
      Object.entries(op.responses).map(([status, s]) => [
        status,
        status === '204'
          ? { description: 'Success, no content' }
          : status === '302'
            ? {
                description: 'Redirect: the file is at the Location URL',
                headers: { Location: { schema: { type: 'string' } } },
              }
            : {
                description: 'Success',
                content: {
                  'application/json': { schema: schema(s, 'output') },
                  ...Object.fromEntries(
                    Object.entries(op.media ?? {}).map(([m, format]) => [
                      m,
                      { schema: { type: 'string', format } },
                    ]),
                  ),
                },
              },
      ]),
    ),
    ...Object.fromEntries(
      errorStatuses(op).map((status) => [
        status,
        {
          description: ERROR_DESCRIPTIONS[status] ?? 'Error',
          ...(ERROR_HEADERS[status] && { headers: ERROR_HEADERS[status] }),
          content: { 'application/json': { schema: schema(ErrorResponse, 'output') } },
        },
      ]),
    ),
  },
});

const WEBHOOK_HEADERS: [string, string][] = [
  ['webhook-id', 'The event id, the same on every retry: dedupe on it'],
  ['webhook-timestamp', 'Unix seconds of this attempt'],
  ['webhook-signature', 'v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>"> keyed with the whsec_ secret'],
];

/** The events the gateway POSTs to a tenant's endpoints (OpenAPI 3.1 `webhooks`), from WEBHOOK_EVENTS. */
const webhookOperation = (type: WebhookEventType) => ({
  post: {
    summary: `The ${type} event, signed per Standard Webhooks`,
    operationId: `webhook${type.replace(/(^|\.)(.)/g, (_m, _d, c: string) => c.toUpperCase())}`,
    parameters: WEBHOOK_HEADERS.map(([name, description]) => ({
      name,
      in: 'header',
      required: true,
      description,
      schema: { type: 'string' },
    })),
    requestBody: {
      required: true,
      content: { 'application/json': { schema: schema(webhookEnvelopeSchema(type), 'output') } },
    },
    responses: {
      '2XX': {
        description:
          'Received (the body is ignored); any other answer, or none within 10 s, is retried with backoff for at least 24 h',
      },
    },
  },
});

const documents = new WeakMap<readonly OpenApiRoute[], Record<string, unknown>>();

/**
 * The OpenAPI 3.1 document of the tenant API, generated from the route table and the same zod
 * schemas the handlers parse and check with. The server is relative: the host serving the document.
 */
export const openApiDocument = ({ routes }: { routes: readonly OpenApiRoute[] }): Record<string, unknown> => {
  let document = documents.get(routes);
  if (!document) {
    document = {
      openapi: '3.1.0',
      info: { title: 'WhatsApp QR Gateway', version: '1.0.0' },
      servers: [{ url: '/', description: 'The host serving this document' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
      paths: routes.reduce<Record<string, Record<string, unknown>>>((paths, op) => {
        paths[op.path] = { ...paths[op.path], [op.method.toLowerCase()]: operation(op) };
        return paths;
      }, {}),
      webhooks: Object.fromEntries(WEBHOOK_EVENT_TYPES.map((type) => [type, webhookOperation(type)])),
    };
    documents.set(routes, document);
  }
  return document;
};
