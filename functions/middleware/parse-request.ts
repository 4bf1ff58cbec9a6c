import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { AppError, type ErrorDetail, ValidationError } from '#shared/errors.ts';
import type * as z from '#shared/zod.ts';

export const MAX_BODY_BYTES = 64 * 1024;

export interface RequestSpec {
  body?: z.ZodMiniType;
  params?: z.ZodMiniType;
  query?: z.ZodMiniType;
  /** Headers to validate, by lower-case name. */
  headers?: Record<string, z.ZodMiniType>;
}

type Out<T> = T extends z.ZodMiniType ? z.output<T> : undefined;
export interface ParsedRequest<S extends RequestSpec> {
  body: Out<S['body']>;
  params: Out<S['params']>;
  query: Out<S['query']>;
  headers: {
    [K in keyof S['headers']]: S['headers'][K] extends z.ZodMiniType ? z.output<S['headers'][K]> : never;
  };
}

export type ParsedEvent<S extends RequestSpec> = APIGatewayProxyEventV2 & { parsed: ParsedRequest<S> };

const valueAt = (value: unknown, path: PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (at, key) =>
      at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined,
    value,
  );

/**
 * zod's issues as the contract's details. A field that is absent gets "<field> is required"
 * (zod says "expected string, received undefined", which reads like a type mistake, and a
 * schema's own message such as "must be a UUID" hides that nothing was sent).
 */
export const issuesOf = (prefix: string, error: z.core.$ZodError, input: unknown): ErrorDetail[] =>
  error.issues.map((issue) => {
    const missing = issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined;
    const field = issue.path.length > 0 ? String(issue.path.at(-1)) : prefix;
    return {
      path: [prefix, ...issue.path.map(String)].join('.'),
      message: missing ? `${field} is required` : issue.message,
    };
  });

const readBody = (event: APIGatewayProxyEventV2): unknown => {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.byteLength > MAX_BODY_BYTES) {
    throw new AppError('too_large', 'PAYLOAD_TOO_LARGE', `The body must be at most ${MAX_BODY_BYTES} bytes`);
  }
  if (bytes.byteLength === 0) return {};
  const type = event.headers['content-type'] ?? '';
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new AppError(
      'unsupported',
      'UNSUPPORTED_MEDIA_TYPE',
      'The body must be JSON (Content-Type: application/json)',
    );
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new AppError('invalid', 'MALFORMED_JSON', 'The body is not valid JSON');
  }
};

/**
 * Checks size and content type, parses JSON, and validates body, path, query and headers with zod,
 * listing every bad field at once (400 VALIDATION_FAILED). The parsed, typed input lands on `event.parsed`.
 */
export const parseRequest = <S extends RequestSpec>(spec: S): middy.MiddlewareObj<ParsedEvent<S>> => ({
  before: async (request) => {
    const event = request.event;
    const details: ErrorDetail[] = [];
    const check = (prefix: string, schema: z.ZodMiniType | undefined, value: unknown): unknown => {
      if (!schema) return undefined;
      const result = schema.safeParse(value);
      if (result.success) return result.data;
      details.push(...issuesOf(prefix, result.error, value));
      return undefined;
    };
    const body = spec.body ? check('body', spec.body, readBody(event)) : undefined;
    const params = check('path', spec.params, event.pathParameters ?? {});
    const query = check('query', spec.query, event.queryStringParameters ?? {});
    const headers = Object.fromEntries(
      Object.entries(spec.headers ?? {}).map(([name, schema]) => [
        name,
        check(`header.${name}`, schema, event.headers[name]),
      ]),
    );
    if (details.length > 0) throw new ValidationError(details);
    event.parsed = { body, params, query, headers } as ParsedRequest<S>;
  },
});
