import { isLoopbackHost } from '../loopback.ts';
import { addCallRecorder, callLogDir } from './aws-call-recorder.ts';

/**
 * Per-attempt timeouts (ms), so that no hung call blocks a caller for good (by default the SDK waits
 * up to 15 minutes on a silent socket). `requestTimeout` only logs a warning unless
 * `throwOnRequestTimeout` is set. SQS long-polls for up to 20 s, so its limit must exceed the wait.
 */
export const REQUEST_TIMEOUTS = {
  dynamo: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true },
  sqs: { connectionTimeout: 3_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
  s3: { connectionTimeout: 3_000, requestTimeout: 30_000, throwOnRequestTimeout: true },
} as const;

/** Thrown before a request leaves a test process for anything that is not a loopback stand-in. */
export class NonLoopbackEndpointError extends Error {
  readonly code = 'NON_LOOPBACK_ENDPOINT';
  readonly kind = 'config';
  constructor(what: string) {
    super(`${what}: tests may only reach loopback stand-ins (AWS_LOOPBACK_ONLY is set)`);
    this.name = 'NonLoopbackEndpointError';
  }
}

/**
 * True when this process may only talk to loopback (the vitest config sets `AWS_LOOPBACK_ONLY=1`
 * for every test process and its children). Read from the environment directly: a test-only
 * switch, never set in AWS.
 */
export const loopbackOnly = (): boolean => process.env.AWS_LOOPBACK_ONLY === '1';

/**
 * Refuses an explicit endpoint that is not on loopback while `loopbackOnly()`. A client without an
 * endpoint (AWS itself) is refused by the request guard of `prepareClient` at its first call, so a
 * test may still build the clients it does not use.
 */
export const assertLoopbackEndpoint = (service: string, endpoint: string | undefined): void => {
  if (loopbackOnly() && endpoint && !isLoopbackHost(new URL(endpoint).hostname)) {
    throw new NonLoopbackEndpointError(`${service} endpoint ${endpoint}`);
  }
};

interface Stack {
  add(middleware: unknown, options: { step: 'finalizeRequest'; name: string; override: boolean }): void;
}

type SignerProvider = (authScheme?: unknown) => Promise<unknown>;

/**
 * Makes a client reuse one SigV4 signer per auth scheme instead of building one per call: the SDK's
 * default `config.signer` copies the whole client config (over a hundred properties) into a new
 * `SignatureV4` on every request. A signer holds no per-request state: the credentials provider,
 * the date, region and service are read at each `sign`, so rotated credentials and clock-skew
 * correction still apply. The scheme comes from the endpoint (name, signing name and region): one
 * signer per distinct scheme.
 */
export const reuseSigner = (config: { signer?: SignerProvider }): void => {
  const build = config.signer;
  if (!build) return;
  const signers = new Map<string, Promise<unknown>>();
  config.signer = (authScheme?: unknown) => {
    const key = JSON.stringify(authScheme ?? null);
    let signer = signers.get(key);
    if (!signer) {
      signer = build(authScheme);
      // A failed build (a region provider that threw) is not kept: the next call builds again.
      signer.catch(() => signers.delete(key));
      signers.set(key, signer);
    }
    return signer;
  };
};

/**
 * Prepares one client: one reused signer (`reuseSigner`), and the test-time guards: the call
 * recorder when recording is on, and, while
 * `loopbackOnly()`, a last check on every outgoing request's host, so that not even an endpoint
 * resolved by the SDK (a queue URL, a bucket host) can reach a real account.
 */
export const prepareClient = <C extends { middlewareStack: unknown; config: object }>(
  client: C,
  component?: string,
): C => {
  reuseSigner(client.config as { signer?: SignerProvider });
  // 'true' in the Lambda bundles (infra/constructs/app-function.ts), where no test records calls:
  // the condition folds at bundle time and the recorder stays out of the bundle.
  if (process.env.BUNDLE_WITHOUT_CALL_RECORDER !== 'true') {
    const dir = callLogDir();
    if (dir) addCallRecorder(client.middlewareStack as never, dir, component);
  }
  if (loopbackOnly()) {
    (client.middlewareStack as Stack).add(
      (next: (args: { request: { hostname?: string } }) => Promise<unknown>) =>
        async (args: { request: { hostname?: string } }) => {
          const host = args.request.hostname ?? '';
          if (!isLoopbackHost(host)) throw new NonLoopbackEndpointError(`request to ${host}`);
          return next(args);
        },
      { step: 'finalizeRequest', name: 'loopbackOnlyGuard', override: true },
    );
  }
  return client;
};
