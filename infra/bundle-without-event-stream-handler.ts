/**
 * Stands in for `@aws-sdk/eventstream-handler-node` in the Lambda bundles (an esbuild alias in
 * infra/bundle-lambda.ts), as infra/bundle-without-event-streams.ts does for the codec. The
 * Bedrock runtime client builds its payload handler when it is constructed, and uses it only to
 * sign the frames of an operation with an event-stream input (InvokeModelWithBidirectionalStream),
 * about 2.9 KB of the AI worker, which calls `Converse` only. Same export as the package (and as
 * the SDK's own React Native config does): a handler that fails with the reason if it is used.
 */
import { EVENT_STREAMS_LEFT_OUT } from './bundle-without-event-streams.ts';

/** The client's payload handler: built with the client, refusing to handle an event stream. */
export const eventStreamPayloadHandlerProvider = (_options?: unknown) => ({
  handle: (): never => {
    throw new Error(EVENT_STREAMS_LEFT_OUT);
  },
});
