import { AppError, DependencyUnavailableError } from '../../errors.ts';

// How provider failures map onto error kinds (the queue handler retries every failure and the
// queue dead-letters it after its last receive; the kind says why in the log):
// - unavailable: throttled, 5xx, timeouts, network errors. Retrying later should work.
// - invalid: the provider refused this request (unknown model, prompt too long, content rejected).
//   The same request will be refused again: it ends in the DLQ for a human to look at.
// - internal: our configuration is wrong (credentials, permissions, a provider that is not set up,
//   an answer we cannot read). Retried, so a fixed deployment still answers what is in the queue.

/** The provider is throttling, failing or too slow: retry later. */
export const providerUnavailable = (provider: string, cause: unknown): DependencyUnavailableError =>
  new DependencyUnavailableError(`ai:${provider}`, cause);

/** The provider refused the request as such (a 4xx other than auth, throttling or timeout). */
export class ChatRequestRejectedError extends AppError {
  constructor(
    readonly provider: string,
    detail: string,
    readonly status?: number,
  ) {
    super('invalid', 'AI_REQUEST_REJECTED', `${provider} refused the request: ${detail.slice(0, 500)}`);
  }
}

/** The provider cannot be used as configured (credentials, permissions, missing settings, unreadable answers). */
export class ChatModelConfigError extends AppError {
  constructor(
    readonly provider: string,
    detail: string,
  ) {
    super('internal', 'AI_PROVIDER_MISCONFIGURED', `${provider}: ${detail.slice(0, 500)}`);
  }
}

/** Rough token count for providers that report none (about four characters per token). */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);
