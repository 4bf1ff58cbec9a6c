import { type AuthenticationCreds, configureSuccessfulPairing, initAuthCreds } from '@whiskeysockets/baileys';
import type { Account } from './accounts.ts';
import type { Pairing } from './pairing.ts';

/**
 * Fresh Baileys credentials already linked to `account`, as if its phone had scanned the QR:
 * the simulator signs the device identity, Baileys' own `configureSuccessfulPairing` accepts it
 * and countersigns, and the simulator records the device. A socket given these credentials logs
 * in at once, with no QR and no 515 restart, and is treated as already synced.
 */
export function pairCredentials(pairing: Pairing, account: Account): AuthenticationCreds {
  const creds = initAuthCreds();
  const pending = pairing.prepareLink(
    account,
    {
      noiseKey: Buffer.from(creds.noiseKey.public),
      identityKey: Buffer.from(creds.signedIdentityKey.public),
      registrationId: creds.registrationId,
      signedPreKey: {
        keyId: creds.signedPreKey.keyId,
        publicKey: Buffer.from(creds.signedPreKey.keyPair.public),
        signature: Buffer.from(creds.signedPreKey.signature),
      },
    },
    Buffer.from(creds.advSecretKey, 'base64'),
  );
  const { creds: update, reply } = configureSuccessfulPairing(pending.stanza, creds);
  pending.confirm(reply);
  // As if the initial history sync were done: the simulator has no history to send, and on a first
  // connection Baileys holds offline messages up to 20 s waiting for one.
  return { ...creds, ...update, accountSyncCounter: 1 };
}
