import { describe, expect, it } from 'vitest';
import { closeAction } from './reconnect-policy.ts';

const backoff = { baseMs: 1000, capMs: 60_000, random: () => 1 };

describe('closeAction', () => {
  it('restarts at once after 515', () => {
    expect(closeAction(515, false, 3, backoff)).toEqual({ kind: 'reconnect', delayMs: 0 });
    expect(closeAction(515, true, 0, backoff, true, 1)).toEqual({ kind: 'reconnect', delayMs: 0 });
  });

  it('backs off after a second 515 in a row, growing with the attempt like any loss', () => {
    expect(closeAction(515, true, 1, backoff, true, 2)).toEqual({ kind: 'reconnect', delayMs: 2000 });
    expect(closeAction(515, true, 4, backoff, true, 5)).toEqual({ kind: 'reconnect', delayMs: 16_000 });
    expect(closeAction(515, true, 30, backoff, true, 31)).toEqual({ kind: 'reconnect', delayMs: 60_000 });
  });

  it.each([408, 428, 500, 503, undefined])('backs off with a cap after %s on a linked device', (code) => {
    expect(closeAction(code, true, 0, backoff)).toEqual({ kind: 'reconnect', delayMs: 1000 });
    expect(closeAction(code, true, 3, backoff)).toEqual({ kind: 'reconnect', delayMs: 8000 });
    expect(closeAction(code, true, 30, backoff)).toEqual({ kind: 'reconnect', delayMs: 60_000 });
  });

  it('adds jitter of up to half the delay', () => {
    expect(closeAction(428, true, 2, { ...backoff, random: () => 0 })).toEqual({
      kind: 'reconnect',
      delayMs: 2000,
    });
  });

  it('calls a socket that never reached the server CONNECT_FAILED and backs off, never QR_TIMEOUT', () => {
    expect(closeAction(408, false, 0, backoff, false)).toEqual({
      kind: 'reconnect',
      delayMs: 1000,
      lastError: 'CONNECT_FAILED',
    });
    expect(closeAction(500, true, 3, backoff, false)).toEqual({
      kind: 'reconnect',
      delayMs: 8000,
      lastError: 'CONNECT_FAILED',
    });
  });

  it('stops on 440, 405 and an unscanned QR; logs out on 401 and 403', () => {
    expect(closeAction(440, true, 0, backoff)).toEqual({ kind: 'stop', lastError: 'CONNECTION_REPLACED' });
    expect(closeAction(405, true, 0, backoff)).toEqual({
      kind: 'stop',
      lastError: 'CLIENT_VERSION_REJECTED',
    });
    expect(closeAction(408, false, 0, backoff)).toEqual({ kind: 'stop', lastError: 'QR_TIMEOUT' });
    expect(closeAction(401, true, 0, backoff)).toEqual({ kind: 'logout', lastError: 'LOGGED_OUT' });
    expect(closeAction(403, true, 0, backoff)).toEqual({ kind: 'logout', lastError: 'FORBIDDEN' });
  });
});
