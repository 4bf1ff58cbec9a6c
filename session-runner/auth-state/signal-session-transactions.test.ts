import {
  addTransactionCapability,
  DEFAULT_CONNECTION_CONFIG,
  generateSignalPubKey,
  initAuthCreds,
} from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { SignalParty } from '#local/simulator/signal-party.ts';
import { InMemoryObjectStore } from '#shared/testing/in-memory-object-store.ts';
import { silentBaileysLogger } from '../baileys-logger.ts';
import { DurableAuthState } from './durable-auth-state.ts';

// Regression for #10 r1 (resent copies failing with "Bad MAC" again and again): a contact's retry
// receipt makes Baileys start a fresh session with the contact's keys, but that injection ran in a
// transaction of its own key (the contact's jid) while decrypts run under the account's key. A
// decrypt that had read the session record before the injection committed the old record after
// it, and the resend went out on the broken session again. The patched Baileys runs every session
// transaction under the account's key.

const ME = '4915300000001:1@s.whatsapp.net';
const CONTACT_JID = '111111111111111@lid';

const setup = async () => {
  const auth = await DurableAuthState.load({ store: new InMemoryObjectStore(), sessionId: 'tx', fence: 1 });
  auth.state.creds = { ...initAuthCreds(), me: { id: ME, lid: '222222222222222:1@lid' } };
  const keys = addTransactionCapability(auth.state.keys, silentBaileysLogger, {
    maxCommitRetries: 1,
    delayBetweenTriesMs: 0,
  });
  const repo = DEFAULT_CONNECTION_CONFIG.makeSignalRepository(
    { creds: auth.state.creds, keys },
    silentBaileysLogger,
  );
  const contact = new SignalParty();
  /** The contact's keys as a retry receipt (or a key fetch) hands them over. */
  const freshSession = () => {
    const { registrationId, identityKey, signedPreKey, preKey } = contact.takeBundle();
    if (!preKey) throw new Error('a contact always hands out a one-time pre-key');
    return {
      registrationId,
      identityKey: generateSignalPubKey(identityKey),
      signedPreKey: { ...signedPreKey, publicKey: generateSignalPubKey(signedPreKey.publicKey) },
      preKey: { keyId: preKey.keyId, publicKey: generateSignalPubKey(preKey.publicKey) },
    };
  };
  return { keys, repo, freshSession, address: repo.jidToSignalProtocolAddress(CONTACT_JID) };
};

describe("a fresh session injected while a decrypt of the contact's message is under way", () => {
  it('is the open session once both have committed', async () => {
    const { keys, repo, freshSession, address } = await setup();
    await repo.injectE2ESession({ jid: CONTACT_JID, session: freshSession() });
    const before = (await repo.getSessionInfo(CONTACT_JID))?.baseKey;
    expect(before).toBeDefined();

    // A decrypt as Baileys runs it (a transaction under the account's key): it has read the record
    // and stores it back (its ratchet advanced) once the application stored the message.
    let stored!: () => void;
    const messageStored = new Promise<void>((resolve) => {
      stored = resolve;
    });
    let hasRead!: () => void;
    const read = new Promise<void>((resolve) => {
      hasRead = resolve;
    });
    const decrypting = keys.transaction(async () => {
      const { [address]: record } = await keys.get('session', [address]);
      hasRead();
      await messageStored;
      await keys.set({ session: { [address]: record ?? null } });
    }, ME);
    await read;
    // Meanwhile the contact's retry receipt brings new keys.
    const injecting = repo.injectE2ESession({ jid: CONTACT_JID, session: freshSession() });
    // Every step of the injection is a promise on memory: one turn of the event loop is enough
    // for an injection that does not wait for the decrypt to have committed.
    await new Promise((resolve) => setImmediate(resolve));
    stored();
    await Promise.all([decrypting, injecting]);

    const after = (await repo.getSessionInfo(CONTACT_JID))?.baseKey;
    expect(after).toBeDefined();
    expect(Buffer.from(after as Uint8Array).equals(Buffer.from(before as Uint8Array))).toBe(false);
  });
});
