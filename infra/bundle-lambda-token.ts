/**
 * Stands in for `@aws-sdk/token-providers` in the Lambda bundles (an esbuild alias in
 * infra/bundle-lambda.ts). Its one user there is the Bedrock client, whose bearer-token
 * auth scheme (Bedrock API keys) tries the `AWS_BEARER_TOKEN_BEDROCK` environment variable first and
 * then an SSO token from `~/.aws/sso/cache`, through an SSO OIDC client (about 20 KB of the AI
 * worker). A Lambda has no SSO cache and signs Bedrock calls with its role (SigV4), so of that
 * chain only the environment variable can answer there, and it is kept as the package has it.
 * The runner and the local stack are not bundled with this alias and keep the package.
 */
import { setTokenFeature } from '@aws-sdk/core/client';
import { getBearerTokenEnvKey } from '@aws-sdk/core/httpAuthSchemes';
import { TokenProviderError } from '@smithy/core/config';
import type { TokenIdentity, TokenIdentityProvider } from '@smithy/types';

type Init = { logger?: { debug?: (message: string) => void }; signingName?: string; token?: TokenIdentity };

/** As the package: the token in `AWS_BEARER_TOKEN_<SIGNING NAME>`, or a TokenProviderError. */
export const fromEnvSigningName =
  ({ logger, signingName }: Init = {}): TokenIdentityProvider =>
  async () => {
    if (!signingName)
      throw new TokenProviderError("Please pass 'signingName' to compute environment variable key", {
        logger,
      } as never);
    const key = getBearerTokenEnvKey(signingName);
    if (!(key in process.env)) {
      throw new TokenProviderError(`Token not present in '${key}' environment variable`, { logger } as never);
    }
    const token = { token: process.env[key] as string };
    setTokenFeature(token, 'BEARER_SERVICE_ENV_VARS', '3');
    return token;
  };

/** As the package: a token given in code. */
export const fromStatic =
  ({ token }: Init = {}): TokenIdentityProvider =>
  async () => {
    if (!token?.token) throw new TokenProviderError('Please pass a valid token to fromStatic', false);
    return token;
  };

/** SSO: never available in a Lambda (no `~/.aws/sso/cache`); fails like the package with no SSO session. */
export const fromSso =
  (_init: Init = {}): TokenIdentityProvider =>
  async () => {
    throw new TokenProviderError(
      'SSO tokens are left out of the Lambda bundles (infra/bundle-lambda-token.ts)',
      false,
    );
  };

/** The package's default chain (SSO only) as a Lambda can use it. */
export const nodeProvider = (init: Init = {}): TokenIdentityProvider => fromSso(init);
