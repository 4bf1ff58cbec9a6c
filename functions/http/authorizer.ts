import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { AppError, UnauthorizedError } from '#shared/errors.ts';
import { authenticate } from '#shared/use-cases/tenants.ts';
import { authorizerTenants, logger } from '../composition-root.ts';
import type { AuthorizerContext } from '../middleware/tenant-auth.ts';

/** The API key of a request: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export const apiKeyOf = (headers: Record<string, string | undefined> | undefined): string | undefined => {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(headers?.authorization ?? '')?.[1];
  return bearer ?? (headers?.['x-api-key']?.trim() || undefined);
};

/**
 * Lambda authorizer for the HTTP API (simple responses). It always lets the request through with
 * its verdict in the context: an empty tenantId means "no valid key", and the route answers 401
 * in the contract's error shape (HTTP APIs would otherwise send their own 403 body).
 */
export const handler = async (
  event: APIGatewayRequestAuthorizerEventV2,
): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> => {
  try {
    const tenantId = await authenticate({ tenants: authorizerTenants() }, apiKeyOf(event.headers));
    return { isAuthorized: true, context: { tenantId } };
  } catch (error) {
    if (error instanceof UnauthorizedError) return { isAuthorized: true, context: { tenantId: '' } };
    logger.warn('authorizer could not check the key', {
      code: error instanceof AppError ? error.code : 'UNKNOWN',
    });
    return { isAuthorized: true, context: { tenantId: '', authError: 'SERVICE_UNAVAILABLE' } };
  }
};
