/**
 * Two modules of `@smithy/core` that no Lambda of the app can reach, replaced in the Lambda
 * bundles (by the SDK trimming plugin, infra/bundle-sdk-trim.ts) with small modules of the same
 * exports, about 4.5 KB of every bundle:
 * - the adaptive retry strategy and its client-side rate limiter: a client takes it only when
 *   `AWS_RETRY_MODE` (or `retry_mode` in a config file) says `adaptive`. No client of ours sets
 *   `retryMode`, and a function gets exactly the environment its schema declares (synth fails
 *   otherwise, infra/constructs/app-function.ts), none of which is AWS_RETRY_MODE: building one
 *   fails with the reason instead of retrying differently;
 * - the region lookup in the EC2 instance metadata service: the Lambda runtime sets `AWS_REGION`
 *   (and `AWS_EXECUTION_ENV`) for every function and offers no metadata service, so the lookup,
 *   the last step of the region chain, answers "no region" at once, as it does there after a
 *   failed request.
 */

/** `@smithy/core`'s adaptive retry strategy (util-retry), the only user of its rate limiter. */
export const ADAPTIVE_RETRY_MODULE =
  /[\\/]@smithy[\\/]core[\\/]dist-es[\\/]submodules[\\/]retry[\\/]util-retry[\\/]AdaptiveRetryStrategy\.js$/;

/** `@smithy/core`'s region lookup in the instance metadata service. */
export const IMDS_REGION_MODULE =
  /[\\/]@smithy[\\/]core[\\/]dist-es[\\/]submodules[\\/]config[\\/]config-resolver[\\/]regionConfig[\\/]getInstanceMetadataRegion\.js$/;

/** Why the adaptive retry mode fails in a Lambda bundle. */
export const ADAPTIVE_RETRY_LEFT_OUT =
  'The adaptive retry mode is left out of the Lambda bundles (infra/bundle-sdk-left-out.ts): no function sets AWS_RETRY_MODE';

/** The module that stands in for the adaptive retry strategy. */
export const adaptiveRetryModule = (): string =>
  `export class AdaptiveRetryStrategy { constructor() { throw new Error(${JSON.stringify(ADAPTIVE_RETRY_LEFT_OUT)}); } }\n`;

/** The module that stands in for the metadata service's region: there is none in Lambda. */
export const imdsRegionModule = (): string =>
  'export const getInstanceMetadataRegion = async () => undefined;\n';
