/**
 * Stands in for `@smithy/core/event-streams` in the Lambda bundles (an esbuild alias in
 * infra/bundle-lambda.ts). Every SDK client reaches that module (a dynamic import in
 * the shared HTTP protocol; S3 and Bedrock import it statically for SelectObjectContent and the
 * streaming operations), so each bundle carried its codec, marshallers and a pure-JS SHA-256,
 * about 17 KB, although no function calls an operation with an event stream: DynamoDB, SQS, S3
 * HEAD/GET/PUT, Secrets Manager and Bedrock `Converse` have none. Same exports as the module; a
 * client can still be built (its config resolver runs), and using an event stream fails with an
 * error that says why instead of a missing import.
 */

/** Why an event stream cannot work in this bundle. */
export const EVENT_STREAMS_LEFT_OUT =
  'Event streams are left out of the Lambda bundles (infra/bundle-without-event-streams.ts): remove the alias in infra/bundle-lambda.ts to call a streaming operation';

const leftOut = (): never => {
  throw new Error(EVENT_STREAMS_LEFT_OUT);
};

/** A class of the module: constructing it fails. */
class LeftOut {
  constructor() {
    leftOut();
  }
}

/** The marshaller a client is configured with: inert until an event stream is (de)serialized. */
const refusingMarshaller = { serialize: leftOut, deserialize: leftOut };

export const eventStreamSerdeProvider = (_options?: unknown) => refusingMarshaller;
export const universalEventStreamSerdeProvider = eventStreamSerdeProvider;

/** As the module: the client's config gets its marshaller from the provider it was given. */
export const resolveEventStreamSerdeConfig = <T extends { eventStreamSerdeProvider: (input: T) => unknown }>(
  input: T,
): T & { eventStreamMarshaller: unknown } =>
  Object.assign(input, { eventStreamMarshaller: input.eventStreamSerdeProvider(input) });

export const EventStreamCodec = LeftOut;
export const HeaderMarshaller = LeftOut;
export const Int64 = LeftOut;
export const MessageDecoderStream = LeftOut;
export const MessageEncoderStream = LeftOut;
export const SmithyMessageDecoderStream = LeftOut;
export const SmithyMessageEncoderStream = LeftOut;
export const EventStreamMarshaller = LeftOut;
export const UniversalEventStreamMarshaller = LeftOut;
export const EventStreamSerde = LeftOut;
export const readableStreamToIterable = leftOut;
export const iterableToReadableStream = leftOut;
export const getChunkedStream = leftOut;
export const getUnmarshalledStream = leftOut;
export const getMessageUnmarshaller = leftOut;
