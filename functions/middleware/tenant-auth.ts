import type middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { DependencyUnavailableError, UnauthorizedError } from '#shared/errors.ts';

/** What the authorizer hands to every route through `requestContext.authorizer.lambda`. */
export interface AuthorizerContext {
  tenantId: string;
  /** Set when the authorizer could not decide (its store was down). */
  authError?: 'SERVICE_UNAVAILABLE';
}

export type AuthorizedEvent = APIGatewayProxyEventV2 & { tenantId: string };

/**
 * Requires the tenant the authorizer resolved. HTTP APIs cannot shape an authorizer's denial, so the
 * authorizer passes its verdict in the context and this middleware answers 401 / 503 in the contract's shape.
 */
export const tenantAuth = (): middy.MiddlewareObj<AuthorizedEvent> => ({
  before: async (request) => {
    const context = (request.event.requestContext as { authorizer?: { lambda?: Partial<AuthorizerContext> } })
      .authorizer?.lambda;
    if (context?.authError === 'SERVICE_UNAVAILABLE') throw new DependencyUnavailableError('authorizer');
    if (!context?.tenantId) throw new UnauthorizedError();
    request.event.tenantId = context.tenantId;
  },
});
