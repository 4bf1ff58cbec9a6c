import * as payloadHandler from '@aws-sdk/eventstream-handler-node';
import { describe, expect, it } from 'vitest';
import * as leftOut from './bundle-without-event-stream-handler.ts';
import { EVENT_STREAMS_LEFT_OUT } from './bundle-without-event-streams.ts';

describe('the Lambda bundles’ stand-in for @aws-sdk/eventstream-handler-node', () => {
  it('exports every name the real package exports (the Bedrock runtime client still bundles)', () => {
    // Vitest loads the CommonJS build, whose namespace also has `default`.
    expect(Object.keys(leftOut).sort()).toEqual(
      Object.keys(payloadHandler)
        .filter((name) => name !== 'default')
        .sort(),
    );
  });

  it('gives the client a handler at construction, which refuses an event stream with the reason', () => {
    const handler = leftOut.eventStreamPayloadHandlerProvider({});
    expect(() => handler.handle()).toThrow(EVENT_STREAMS_LEFT_OUT);
  });
});
