import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { GatewayDeps } from '#shared/use-cases/deps.ts';
import { gatewayDeps, logger } from '../composition-root.ts';
import { httpErrorMapper } from '../middleware/error-response.ts';
import {
  type ParsedEvent,
  type ParsedRequest,
  parseRequest,
  type RequestSpec,
} from '../middleware/parse-request.ts';
import { type AuthorizedEvent, tenantAuth } from '../middleware/tenant-auth.ts';

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
  return {
    statusCode: result.status,
    headers: { 'content-type': 'application/json', ...result.headers },
    body: JSON.stringify(result.json),
  };
};

/**
 * A route handler: error mapper first (so it runs last), then the tenant check, then zod parsing,
 * then one use case call. The handler body gets typed input and only maps the result.
 */
export const httpRoute = <S extends RequestSpec>(
  spec: S,
  run: (request: RouteRequest<S>) => Promise<HttpResult>,
) =>
  middy<ParsedEvent<S> & AuthorizedEvent, APIGatewayProxyResultV2>()
    .use(httpErrorMapper(logger))
    .use(tenantAuth())
    .use(parseRequest(spec))
    .handler(async (event) =>
      toResponse(
        await run({
          ...event.parsed,
          tenantId: event.tenantId,
          rawHeaders: event.headers,
          deps: gatewayDeps(),
        }),
      ),
    );
