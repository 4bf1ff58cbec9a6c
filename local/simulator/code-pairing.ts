import { randomBytes } from 'node:crypto';
import { type BinaryNode, Curve, getBinaryNodeChild, type KeyPair } from '@whiskeysockets/baileys';
import type { Account, AccountRegistry } from './accounts.ts';
import { SERVER_JID, toBuffer, unixNow } from './binary.ts';
import type { Connection } from './connection.ts';
import { SimulatorError } from './errors.ts';
import { bytesNode } from './key-bundles.ts';
import type { LinkedDevice } from './pairing.ts';
import { finishCodePairing, normalizePairingCode, unwrapWithCode, wrapWithCode } from './virtual-phone.ts';

type Link = (connection: Connection, account: Account, advSecret: Buffer) => Promise<LinkedDevice>;

interface CodeRequest {
  phone: string;
  wrappedEphemeral: Buffer;
  ref: string;
  companionEphemeral?: Buffer;
  primaryEphemeral?: KeyPair;
  outcome?: { resolve(device: LinkedDevice): void; reject(error: unknown): void };
}

/**
 * Linking by pairing code (docs/whatsapp-simulator.md §7): the companion's `companion_hello`, the phone's
 * `primary_hello` once a person types the code, the companion's key bundle, then the same
 * pair-success as a QR scan, with the ADV secret both sides derived.
 */
export class CodePairing {
  private readonly requests = new Map<Connection, CodeRequest>();
  private readonly helloWaiters = new Map<string, () => void>();

  constructor(
    private readonly registry: AccountRegistry,
    private readonly timeoutMs: number,
    private readonly link: Link,
  ) {}

  forget(connection: Connection): void {
    this.requests
      .get(connection)
      ?.outcome?.reject(new SimulatorError('CLIENT_GONE', 'the companion left', 409));
    this.requests.delete(connection);
  }

  /**
   * The phone of `phone` types a pairing code shown by a companion that asked for one
   * (`requestPairingCode`). Waits briefly for that request, since Baileys sends it without waiting.
   */
  async enterPairingCode(phone: string, code: string): Promise<LinkedDevice> {
    const normalized = normalizePairingCode(code);
    const [connection, request] = await this.waitForCodeRequest(phone);
    const companionEphemeral = await unwrapWithCode(normalized, request.wrappedEphemeral);
    request.primaryEphemeral = Curve.generateKeyPair();
    const account = this.registry.getOrCreate(phone);
    const outcome = new Promise<LinkedDevice>((resolve, reject) => {
      request.outcome = { resolve, reject };
    });
    const wrappedPrimary = await wrapWithCode(normalized, request.primaryEphemeral.public);
    request.companionEphemeral = companionEphemeral;
    connection.sendNode({
      tag: 'notification',
      attrs: {
        from: SERVER_JID,
        type: 'link_code_companion_reg',
        id: `code-${connection.id}`,
        t: String(unixNow()),
      },
      content: [
        {
          tag: 'link_code_companion_reg',
          attrs: { stage: 'primary_hello' },
          content: [
            bytesNode('link_code_pairing_ref', Buffer.from(request.ref)),
            bytesNode('primary_identity_pub', account.accountKey.public),
            bytesNode('link_code_pairing_wrapped_primary_ephemeral_pub', wrappedPrimary),
          ],
        },
      ],
    });
    return withTimeout(outcome, this.timeoutMs, 'the companion did not finish code pairing');
  }

  /** `iq set md <link_code_companion_reg stage=…>` from a registering companion; returns the reply content. */
  onLinkCodeIq(connection: Connection, reg: BinaryNode): BinaryNode[] | undefined {
    const stage = reg.attrs.stage;
    if (stage === 'companion_hello') {
      const phone = reg.attrs.jid?.split('@')[0]?.split(':')[0] ?? '';
      const wrapped = toBuffer(
        getBinaryNodeChild(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub')?.content,
      );
      if (!/^\d+$/.test(phone) || !wrapped) {
        throw new SimulatorError('INVALID_PAIRING', 'malformed companion_hello');
      }
      const ref = randomBytes(16).toString('hex');
      this.requests.set(connection, { phone, wrappedEphemeral: wrapped, ref });
      this.helloWaiters.get(phone)?.();
      return [
        {
          tag: 'link_code_companion_reg',
          attrs: {},
          content: [bytesNode('link_code_pairing_ref', Buffer.from(ref))],
        },
      ];
    }
    if (stage === 'companion_finish') {
      this.finish(connection, reg);
      return undefined;
    }
    throw new SimulatorError('INVALID_PAIRING', `unknown pairing stage ${stage}`);
  }

  private finish(connection: Connection, reg: BinaryNode): void {
    const request = this.requests.get(connection);
    const wrappedBundle = toBuffer(getBinaryNodeChild(reg, 'link_code_pairing_wrapped_key_bundle')?.content);
    if (
      !request?.primaryEphemeral ||
      !request.companionEphemeral ||
      !request.outcome ||
      !wrappedBundle ||
      !connection.registration
    ) {
      throw new SimulatorError('INVALID_PAIRING', 'companion_finish without a primary_hello');
    }
    const account = this.registry.getOrCreate(request.phone);
    const { outcome } = request;
    try {
      const { companionIdentity, advSecret } = finishCodePairing({
        account,
        primaryEphemeral: request.primaryEphemeral,
        companionEphemeral: request.companionEphemeral,
        wrappedBundle,
      });
      if (!companionIdentity.equals(connection.registration.identityKey)) {
        throw new SimulatorError('WRONG_PAIRING_CODE', 'the key bundle names another companion');
      }
      this.requests.delete(connection);
      // After the iq result has gone out: Baileys awaits it before it trusts the new secret.
      setImmediate(() => this.link(connection, account, advSecret).then(outcome.resolve, outcome.reject));
    } catch (error) {
      outcome.reject(error);
      throw error;
    }
  }

  private async waitForCodeRequest(phone: string): Promise<[Connection, CodeRequest]> {
    const find = () => [...this.requests].reverse().find(([c, r]) => r.phone === phone && c.isOpen);
    if (!find()) {
      const arrived = new Promise<void>((resolve) => this.helloWaiters.set(phone, resolve));
      await Promise.race([arrived, delay(Math.min(this.timeoutMs, 5000))]);
      this.helloWaiters.delete(phone);
    }
    const found = find();
    if (!found) {
      throw new SimulatorError(
        'NO_PAIRING_REQUEST',
        `no companion asked for a pairing code for ${phone}`,
        409,
      );
    }
    return found;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SimulatorError('CLIENT_TIMEOUT', message, 504)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
