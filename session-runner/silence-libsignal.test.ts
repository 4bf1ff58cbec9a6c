import { describe, expect, it } from 'vitest';
import { isLibsignalConsoleLine, silenceLibsignal } from './silence-libsignal.ts';

function fakeConsole() {
  const lines: unknown[][] = [];
  const record = (...args: unknown[]) => lines.push(args);
  const target = {
    log: record,
    info: record,
    warn: record,
    error: record,
    debug: record,
  } as unknown as Console;
  return { target, lines };
}

describe('silenceLibsignal', () => {
  it("drops libsignal's session dumps and decrypt noise", () => {
    const { target, lines } = fakeConsole();
    silenceLibsignal(target);
    target.info('Closing session:', { privKey: 'secret' });
    target.info('Opening session:', { privKey: 'secret' });
    target.warn('Closing open session in favor of incoming prekey bundle');
    target.warn('Decrypted message with closed session.');
    target.error('Failed to decrypt message with any known session...');
    target.error(`Session error:${new Error('Bad MAC')}`, 'stack');
    expect(lines).toEqual([]);
  });

  it('lets every other console line through unchanged', () => {
    const { target, lines } = fakeConsole();
    silenceLibsignal(target);
    target.log('ready: api=http://127.0.0.1:3000');
    target.error(new Error('boom'));
    target.warn('Closing the shop', 42);
    expect(lines).toEqual([
      ['ready: api=http://127.0.0.1:3000'],
      [new Error('boom')],
      ['Closing the shop', 42],
    ]);
  });

  it('wraps a console only once', () => {
    const { target } = fakeConsole();
    silenceLibsignal(target);
    const wrapped = target.info;
    silenceLibsignal(target);
    expect(target.info).toBe(wrapped);
    expect(isLibsignalConsoleLine(['Removing old closed session:', {}])).toBe(true);
  });
});
