/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (an esbuild alias in
 * infra/bundle-lambda.ts). The Lambda runtime hands a function its role's credentials
 * in the environment only, so of the default chain (env, SSO, ini files, process, web identity,
 * container and instance metadata) only `fromEnv` can ever answer there; the rest, with the STS,
 * SSO and sign-in clients they carry, is about 90 KB of every bundle. Same exports as the package.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** The chain as a Lambda can use it: the role credentials the runtime puts in the environment. */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}): AwsCredentialIdentityProvider =>
  fromEnv(init);

export const credentialsWillNeedRefresh = (credentials?: AwsCredentialIdentity): boolean =>
  credentials?.expiration !== undefined;

/** As the package: credentials that expire within five minutes are refreshed. */
export const credentialsTreatedAsExpired = (credentials?: AwsCredentialIdentity): boolean =>
  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;
