import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { GatewayDeps } from '#shared/use-cases/deps.ts';
import { logger } from '../composition-root.ts';
import { httpErrorMapper } from '../middleware/error-response.ts';
import {
  type ParsedEvent,
  type ParsedRequest,
  parseRequest,
  type RequestSpec,
} from '../middleware/parse-request.ts';
import { type AuthorizedEvent, tenantAuth } from '../middleware/tenant-auth.ts';
import { routeDeps } from './route-deps.ts';
import type { RouteDefinition } from './routes.ts';

export type HttpResult =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; binary: Buffer; contentType: string }
  | { status: number; text: string; contentType: string };

export interface RouteRequest<S extends RequestSpec> extends ParsedRequest<S> {
  tenantId: string;
  /** All request headers, lower-case names. */
  rawHeaders: APIGatewayProxyEventV2['headers'];
  deps: GatewayDeps;
}

const toResponse = (result: HttpResult): APIGatewayProxyResultV2 => {
  if ('binary' in result) {
    return {
      statusCode: result.status,
      headers: { 'content-type': result.contentType },
      body: result.binary.toString('base64'),
      isBase64Encoded: true,
    };
  }
  if ('text' in result) {
    return { statusCode: result.status, headers: { 'content-type': result.contentType }, body: result.text };
  }
  // A success without a body (204): nothing to describe with a content type.
  if (result.json === undefined) return { statusCode: result.status, headers: { ...result.headers } };
  return {
    statusCode: result.status,
    headers: { 'content-type': 'application/json', ...result.headers },
    body: JSON.stringify(result.json),
  };
};

/** A handler answered what its route does not declare: a bug, so a 500 whose log names the mismatch. */
export class ResponseContractError extends Error {
  constructor(route: RouteDefinition, status: number, problem: string) {
    super(`${route.method} ${route.path} answered ${status} outside its contract: ${problem}`);
    this.name = 'ResponseContractError';
  }
}

/** Checks a result against the route's declared responses (status, JSON schema, media type). */
export const checkResult = (route: RouteDefinition, result: HttpResult): HttpResult => {
  const schema = route.responses[result.status];
  if (!schema) throw new ResponseContractError(route, result.status, 'undeclared status');
  if ('json' in result) {
    const parsed = schema.safeParse(result.json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      throw new ResponseContractError(route, result.status, problems.join('; '));
    }
  } else if (!route.media?.[result.contentType]) {
    throw new ResponseContractError(route, result.status, `undeclared media type ${result.contentType}`);
  }
  return result;
};

/**
 * A route handler: error mapper first (so it runs last), then the tenant check, then zod parsing
 * of what the route declares, then one use case call; its result is checked against the route's
 * response schemas. The handler body gets typed input and only maps the result.
 */
export const httpRoute = <S extends RequestSpec>(
  route: RouteDefinition<S>,
  run: (request: RouteRequest<S>) => Promise<HttpResult>,
) =>
  middy<ParsedEvent<S> & AuthorizedEvent, APIGatewayProxyResultV2>()
    .use(httpErrorMapper(logger))
    .use(tenantAuth())
    .use(parseRequest(route.request))
    .handler(async (event) =>
      toResponse(
        checkResult(
          route,
          await run({
            ...event.parsed,
            tenantId: event.tenantId,
            rawHeaders: event.headers,
            deps: routeDeps(route),
          }),
        ),
      ),
    );
