import * as eventStreams from '@smithy/core/event-streams';
import { describe, expect, it } from 'vitest';
import * as leftOut from './bundle-without-event-streams.ts';

// Vitest loads the CommonJS build, whose namespace also has `default`.
const MODULE_EXPORTS = Object.keys(eventStreams)
  .filter((name) => name !== 'default')
  .sort();

describe('the Lambda bundles’ stand-in for @smithy/core/event-streams', () => {
  it('exports every name the real module exports (a client importing one still bundles)', () => {
    const names = Object.keys(leftOut).filter((name) => name !== 'EVENT_STREAMS_LEFT_OUT');
    expect(names.sort()).toEqual(MODULE_EXPORTS);
  });

  it('lets a client resolve its config, and refuses an event stream with the reason', () => {
    const config = leftOut.resolveEventStreamSerdeConfig({
      eventStreamSerdeProvider: leftOut.eventStreamSerdeProvider,
    });
    const marshaller = config.eventStreamMarshaller as {
      serialize: () => unknown;
      deserialize: () => unknown;
    };
    expect(() => marshaller.serialize()).toThrow(leftOut.EVENT_STREAMS_LEFT_OUT);
    expect(() => marshaller.deserialize()).toThrow(leftOut.EVENT_STREAMS_LEFT_OUT);
  });

  it('fails to build the serde the HTTP protocol loads for an event-stream operation', () => {
    expect(() => new leftOut.EventStreamSerde()).toThrow(/left out of the Lambda bundles/);
    expect(() => leftOut.getChunkedStream()).toThrow(/left out of the Lambda bundles/);
  });
});
