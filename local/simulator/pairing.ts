import { randomBytes } from 'node:crypto';
import { type BinaryNode, getBinaryNodeChild, type proto } from '@whiskeysockets/baileys';
import type { Account, AccountRegistry, Companion, NewCompanion } from './accounts.ts';
import { decodeUint, SERVER_JID, toBuffer, unixNow } from './binary.ts';
import { CodePairing } from './code-pairing.ts';
import type { Connection } from './connection.ts';
import { SimulatorError } from './errors.ts';
import { bytesNode } from './key-bundles.ts';
import { streamErrorNode } from './stream-errors.ts';
import { isDeviceSignatureValid, parseQr, signDeviceIdentity } from './virtual-phone.ts';

/** A pair-success ready to send, and the check of the companion's countersignature. */
export interface PendingLink {
  stanza: BinaryNode;
  /** Verifies the `pair-device-sign` answer and records the companion; throws when it is wrong. */
  confirm(answer: BinaryNode): Companion;
}

export interface LinkedDevice {
  /** The companion's JID, `<phone>:<device>@s.whatsapp.net`. */
  jid: string;
}

export interface PairingOptions {
  /** Refs (QR codes) offered per registration connection. */
  qrRefs: number;
  /** How long the phone waits for a companion to answer. */
  timeoutMs: number;
}

/**
 * The virtual phones' side of linking: QR refs for registering connections, scanning, and the
 * pair-success / countersignature exchange that ends with a 515 restart.
 */
export class Pairing {
  private readonly byRef = new Map<string, Connection>();
  /** Linking by pairing code, which ends in the same pair-success as a scan. */
  readonly code: CodePairing;

  constructor(
    private readonly registry: AccountRegistry,
    private readonly options: PairingOptions,
  ) {
    this.code = new CodePairing(registry, options.timeoutMs, (connection, account, advSecret) =>
      this.link(connection, account, advSecret),
    );
  }

  /** A new companion finished the handshake: offer it QR refs (Baileys shows one QR per ref). */
  startRegistration(connection: Connection, data: proto.ClientPayload.IDevicePairingRegistrationData): void {
    const identityKey = toBuffer(data.eIdent);
    const signedKey = toBuffer(data.eSkeyVal);
    const signature = toBuffer(data.eSkeySig);
    if (identityKey?.length !== 32 || signedKey?.length !== 32 || signature?.length !== 64) {
      throw new Error('registration without usable keys');
    }
    connection.registration = {
      identityKey,
      registrationId: decodeUint(toBuffer(data.eRegid) ?? Buffer.alloc(0)),
      signedPreKey: {
        keyId: decodeUint(toBuffer(data.eSkeyId) ?? Buffer.alloc(0)),
        publicKey: signedKey,
        signature,
      },
    };
    for (let i = 0; i < this.options.qrRefs; i++) {
      const ref = `2@${randomBytes(24).toString('base64')}`;
      connection.refs.push(ref);
      this.byRef.set(ref, connection);
    }
    connection.sendNode({
      tag: 'iq',
      attrs: { from: SERVER_JID, type: 'set', xmlns: 'md', id: `pair-${connection.id}` },
      content: [
        {
          tag: 'pair-device',
          attrs: {},
          content: connection.refs.map((ref) => bytesNode('ref', Buffer.from(ref))),
        },
      ],
    });
  }

  forget(connection: Connection): void {
    for (const ref of connection.refs) this.byRef.delete(ref);
    this.code.forget(connection);
  }

  /**
   * The phone of `phone` scans a QR string: the ref must belong to a waiting connection whose
   * noise and identity keys are the ones in the QR. Resolves once the device is linked.
   */
  async scanQr(phone: string, qr: string): Promise<LinkedDevice> {
    const scanned = parseQr(qr);
    const connection = this.byRef.get(scanned.ref);
    if (!connection?.isOpen || !connection.registration || !connection.clientStatic) {
      throw new SimulatorError('QR_NOT_FOUND', 'no companion is showing this QR code');
    }
    if (
      !scanned.noiseKey.equals(connection.clientStatic) ||
      !scanned.identityKey.equals(connection.registration.identityKey)
    ) {
      throw new SimulatorError('QR_MISMATCH', 'the QR keys do not belong to the connection that shows it');
    }
    return this.link(connection, this.registry.getOrCreate(phone), scanned.advSecret);
  }

  /** Builds the pair-success for a companion and the check of its answer (also used by the fixture). */
  prepareLink(account: Account, keys: NewCompanion, advSecret: Buffer): PendingLink {
    const slot = account.reserveDevice();
    const deviceIdentity = signDeviceIdentity(account, slot.keyIndex, keys.identityKey, advSecret);
    const stanza: BinaryNode = {
      tag: 'iq',
      attrs: {
        from: SERVER_JID,
        type: 'set',
        xmlns: 'md',
        id: `link-${account.phone}-${slot.id}`,
        t: String(unixNow()),
      },
      content: [
        {
          tag: 'pair-success',
          attrs: {},
          content: [
            bytesNode('device-identity', deviceIdentity),
            { tag: 'platform', attrs: { name: 'android' } },
            { tag: 'device', attrs: { jid: account.pnJid(slot.id), lid: account.lidJid(slot.id) } },
            // The push name: without it Baileys never goes "available" and sends inactive receipts.
            { tag: 'biz', attrs: { name: account.pushName } },
          ],
        },
      ],
    };
    const confirm = (answer: BinaryNode): Companion => {
      const signed = toBuffer(
        getBinaryNodeChild(getBinaryNodeChild(answer, 'pair-device-sign'), 'device-identity')?.content,
      );
      if (
        answer.attrs.type !== 'result' ||
        !signed ||
        !isDeviceSignatureValid(signed, account, keys.identityKey)
      ) {
        throw new SimulatorError('PAIRING_REJECTED', 'the companion did not countersign the device identity');
      }
      return account.addCompanion(slot, keys);
    };
    return { stanza, confirm };
  }

  /** Sends the pair-success, checks the countersignature, records the device and restarts the companion (515). */
  async link(connection: Connection, account: Account, advSecret: Buffer): Promise<LinkedDevice> {
    const { registration, clientStatic } = connection;
    if (!registration || !clientStatic) {
      throw new SimulatorError('QR_NOT_FOUND', 'not a registering companion');
    }
    for (const ref of connection.refs) this.byRef.delete(ref);
    const pending = this.prepareLink(account, { ...registration, noiseKey: clientStatic }, advSecret);
    let answer: BinaryNode;
    try {
      answer = await connection.request(pending.stanza, this.options.timeoutMs);
    } catch (error) {
      // Baileys hangs up when the HMAC does not match: the QR's ADV secret was not this companion's.
      throw error instanceof SimulatorError && error.code === 'CLIENT_GONE'
        ? new SimulatorError('PAIRING_REJECTED', 'the companion refused the pairing')
        : error;
    }
    const companion = pending.confirm(answer);
    connection.end(streamErrorNode(515));
    return { jid: account.pnJid(companion.id) };
  }
}
