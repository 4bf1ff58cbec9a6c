/**
 * Which of an SDK client's modeled errors the Lambda bundles keep registered (used by the SDK
 * trimming plugin, infra/bundle-sdk-trim.ts, on each client's `schemas_0.js`).
 *
 * A client's schema module registers every error of its service when it loads
 * (`n0_registry.registerError(X$, X)`): 36 classes and schemas for DynamoDB, about 30 KB of the
 * send route. The registration is what the protocol looks the error's name up in; an error it does
 * not find is thrown as the client's ServiceException with the same `name` (the error code),
 * `$metadata`, `$fault` (by status) and `message`, and the body's fields copied as they came. So
 * only these stay registered, and the rest drop out of the bundle with their classes:
 * - what our adapters tell apart by more than the name: `instanceof NotFound` / `NoSuchKey`
 *   (shared/adapters/s3-*-store.ts), and the condition failures whose fields they read
 *   (TransactionCanceledException's CancellationReasons, dynamodb-conversation-store.ts);
 * - errors the SDK retries by their class (`$retryable`, read from the client's models/errors.js);
 * - errors of a query-compatible service (SQS) whose code is not their name: the protocol names
 *   such an error after its registration (`AWS.SimpleQueueService.NonExistentQueue` is
 *   `QueueDoesNotExist`), so an unregistered one would change its name.
 * Every other name our adapters map (throttling and unavailability, shared/adapters/aws-errors.ts,
 * Bedrock's in ai/bedrock-chat-model.ts) reaches them unchanged; infra/bundling.test.ts runs a
 * bundled handler against a DynamoDB double to show it.
 */

/** Errors kept registered for our adapters, whatever the client. */
export const MAPPED_ERRORS: ReadonlySet<string> = new Set([
  'ConditionalCheckFailedException',
  'TransactionCanceledException',
  'NotFound',
  'NoSuchKey',
]);

/** `n0_registry.registerError(X$, X);`: one modeled error registered when the module loads. */
const REGISTRATION = /^n0_registry\.registerError\((\w+)\$, (\w+)\);$/gm;

/** An error class of models/errors.js with its body. */
const ERROR_CLASS = /^export class (\w+) extends [^{]+\{([\s\S]*?)^\}/gm;

/** An error schema with its awsQueryError code, as written in the client (before key inlining). */
const QUERY_ERROR_SCHEMA = /^export var (\w+)\$ = \[-3, n0, \w+,\s*\{ \[_aQE\]: \[`([^`]*)`/gm;

/** The error classes of a client's models/errors.js that the SDK retries by their class. */
export const retryableErrors = (errorsSource: string): string[] =>
  [...errorsSource.matchAll(ERROR_CLASS)]
    .filter(([, , body]) => /^\s*\$retryable = /m.test(body as string))
    .map(([, name]) => name as string);

/** The errors of a schema module (as the client ships it) whose awsQueryError code is not their name. */
export const queryCompatibleErrors = (schemaSource: string): string[] =>
  [...schemaSource.matchAll(QUERY_ERROR_SCHEMA)]
    .filter(([, name, code]) => code !== name)
    .map(([, name]) => name as string);

/**
 * The schema module without the registrations of the errors not in `keep` (the service's own
 * ServiceException, registered apart, always stays).
 */
export const withoutUnmappedErrors = (schemaSource: string, keep: ReadonlySet<string>): string =>
  schemaSource.replace(REGISTRATION, (line, _schema: string, name: string) => (keep.has(name) ? line : ''));

/** What stays registered for one client: `schemaSource` as shipped, `errorsSource` its models/errors.js. */
export const keptErrors = (schemaSource: string, errorsSource: string): Set<string> =>
  new Set([...MAPPED_ERRORS, ...retryableErrors(errorsSource), ...queryCompatibleErrors(schemaSource)]);
