import { createRequire } from 'node:module';
import { writeRandomPadMax16 } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SignalParty } from './signal-party.ts';

// #10 r1 ("Bad MAC" at the contact after a runner restart): a failed decrypt must leave no trace.
// libsignal tries every session of a record and steps a session's ratchet before its MAC check, so
// it has to try them on copies (patches/libsignal+6.0.0.patch), and a party must only store a
// record that decrypted (the simulator's in-memory store handed out the live record).

const DEVICE = 'device-lid_1.1';
const CONTACT = 'contact-lid_1.0';
// WhatsApp pads every plaintext; SignalParty.decrypt strips it.
const padded = (s: string) => writeRandomPadMax16(Buffer.from(s));
const text = (s: string) => Buffer.from(s);
// libsignal's wire format (no typings): a pre-key message wraps the whisper message and its MAC.
const { PreKeyWhisperMessage } = createRequire(import.meta.url)('libsignal/src/protobufs.js');

/** The same pre-key message with the MAC of the message inside it broken. */
const withBadMac = (pkmsg: Buffer): Buffer => {
  const outer = PreKeyWhisperMessage.decode(pkmsg.subarray(1));
  const inner = Buffer.from(outer.message);
  inner[inner.length - 1] = (inner.at(-1) as number) ^ 0xff;
  outer.message = inner;
  return Buffer.concat([pkmsg.subarray(0, 1), PreKeyWhisperMessage.encode(outer).finish()]);
};

const clock = () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  let now = Date.UTC(2026, 0, 1);
  vi.setSystemTime(now);
  return () => {
    now += 1000;
    vi.setSystemTime(now);
  };
};

afterEach(() => {
  vi.useRealTimers();
});

describe('a Signal party with two sessions towards the same device', () => {
  it('keeps its newer session usable after decrypting a message sent on the older one', async () => {
    const tick = clock();
    const device = new SignalParty();
    const contact = new SignalParty();
    // The contact starts a session (the older one) and the device answers on it.
    await contact.startSession(DEVICE, device.takeBundle());
    const first = await contact.encrypt(DEVICE, padded('hello'));
    expect(Buffer.from(await device.decrypt(CONTACT, first.type, first.ciphertext))).toEqual(text('hello'));
    const reply = await device.encrypt(CONTACT, padded('hi'));
    await contact.decrypt(DEVICE, reply.type, reply.ciphertext);
    // Still on the older session, in flight while the device starts a newer one (a restarted
    // runner fetching the contact's keys again).
    const inFlight = await contact.encrypt(DEVICE, padded('in flight'));
    expect(inFlight.type).toBe('msg');
    tick();
    await device.startSession(CONTACT, contact.takeBundle());
    const onNewer = await device.encrypt(CONTACT, padded('on the newer session'));
    expect(onNewer.type).toBe('pkmsg');
    expect(Buffer.from(await contact.decrypt(DEVICE, onNewer.type, onNewer.ciphertext))).toEqual(
      text('on the newer session'),
    );

    tick();
    // The newer session is tried first (most recently used) and fails; the older one decrypts.
    expect(Buffer.from(await device.decrypt(CONTACT, inFlight.type, inFlight.ciphertext))).toEqual(
      text('in flight'),
    );
    const next = await device.encrypt(CONTACT, padded('after it'));
    expect(Buffer.from(await contact.decrypt(DEVICE, next.type, next.ciphertext))).toEqual(text('after it'));
  });
});

describe('a Signal party receiving a copy it cannot decrypt', () => {
  it('still decrypts the genuine copy that follows', async () => {
    const device = new SignalParty();
    const contact = new SignalParty();
    await device.startSession(CONTACT, contact.takeBundle());
    const earlier = await device.encrypt(CONTACT, padded('earlier'));
    await contact.decrypt(DEVICE, earlier.type, earlier.ciphertext);
    // The device starts a new session: its first message comes damaged, then as sent.
    await device.startSession(CONTACT, contact.takeBundle());
    const genuine = await device.encrypt(CONTACT, padded('the real one'));
    expect(genuine.type).toBe('pkmsg');

    await expect(contact.decrypt(DEVICE, 'pkmsg', withBadMac(genuine.ciphertext))).rejects.toThrow(/Bad MAC/);
    expect(Buffer.from(await contact.decrypt(DEVICE, genuine.type, genuine.ciphertext))).toEqual(
      text('the real one'),
    );
  });
});
