import type middy from '@middy/core';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { AppError, HTTP_STATUS_BY_KIND } from '#shared/errors.ts';
import type { Logger } from '#shared/logger.ts';

/** The contract's error body: `{ error: { code, message, details? } }`. */
export const errorResponse = (error: unknown, logger: Logger): APIGatewayProxyResultV2 => {
  if (error instanceof AppError && error.kind !== 'internal') {
    const status = HTTP_STATUS_BY_KIND[error.kind];
    if (status >= 500)
      logger.warn('dependency unavailable', { code: error.code, cause: String(error.cause ?? '') });
    return {
      statusCode: status,
      headers: {
        'content-type': 'application/json',
        ...(error.retryAfterSeconds !== undefined && { 'retry-after': String(error.retryAfterSeconds) }),
      },
      body: JSON.stringify({
        error: { code: error.code, message: error.message, ...(error.details && { details: error.details }) },
      }),
    };
  }
  // Anything unexpected: the detail goes to the log, the caller gets a generic body.
  logger.error('unhandled error', error as Error);
  return {
    statusCode: 500,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: { code: 'INTERNAL', message: 'Internal error' } }),
  };
};

/** Middy middleware, registered first so it runs last: every error leaves through this one door. */
export const httpErrorMapper = (logger: Logger): middy.MiddlewareObj<unknown, APIGatewayProxyResultV2> => ({
  onError: async (request) => {
    request.response = errorResponse(request.error, logger);
  },
});
