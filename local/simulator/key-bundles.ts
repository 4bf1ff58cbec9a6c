import { type BinaryNode, getBinaryNodeChild, getBinaryNodeChildren } from '@whiskeysockets/baileys';
import { decodeUint, encodeUint, toBuffer } from './binary.ts';
import type { PreKeyBundle } from './signal-party.ts';

const KEY_TYPE_DJB = Buffer.from([5]);

export interface SignedPreKey {
  keyId: number;
  publicKey: Buffer;
  signature: Buffer;
}

/** What a companion uploads with `iq set encrypt`: its identity, signed pre-key and one-time pre-keys. */
export interface PreKeyUpload {
  registrationId: number;
  identityKey: Buffer;
  signedPreKey: SignedPreKey;
  preKeys: Array<[number, Buffer]>;
}

/** Reads a pre-key upload; undefined when a part is missing or has the wrong size. */
export function parsePreKeyUpload(iq: BinaryNode): PreKeyUpload | undefined {
  const registration = childBytes(iq, 'registration');
  const identityKey = childBytes(iq, 'identity');
  const signedPreKey = parseSignedPreKey(getBinaryNodeChild(iq, 'skey'));
  if (!registration || identityKey?.length !== 32 || !signedPreKey) return undefined;
  const preKeys: Array<[number, Buffer]> = [];
  for (const key of getBinaryNodeChildren(getBinaryNodeChild(iq, 'list'), 'key')) {
    const id = childBytes(key, 'id');
    const value = childBytes(key, 'value');
    if (id && value?.length === 32) preKeys.push([decodeUint(id), value]);
  }
  return { registrationId: decodeUint(registration), identityKey, signedPreKey, preKeys };
}

/** Reads an `<skey><id/><value/><signature/></skey>` node. */
export function parseSignedPreKey(skey: BinaryNode | undefined): SignedPreKey | undefined {
  const id = childBytes(skey, 'id');
  const publicKey = childBytes(skey, 'value');
  const signature = childBytes(skey, 'signature');
  if (!id || publicKey?.length !== 32 || signature?.length !== 64) return undefined;
  return { keyId: decodeUint(id), publicKey, signature };
}

/** The `<user>` answer to a key fetch (`iq get encrypt <key>`), as Baileys' `parseAndInjectE2ESessions` reads it. */
export function bundleNode(jid: string, bundle: PreKeyBundle): BinaryNode {
  const content: BinaryNode[] = [
    bytesNode('registration', encodeUint(bundle.registrationId, 4)),
    bytesNode('type', KEY_TYPE_DJB),
    bytesNode('identity', bundle.identityKey),
    {
      tag: 'skey',
      attrs: {},
      content: [
        bytesNode('id', encodeUint(bundle.signedPreKey.keyId, 3)),
        bytesNode('value', bundle.signedPreKey.publicKey),
        bytesNode('signature', bundle.signedPreKey.signature),
      ],
    },
  ];
  if (bundle.preKey) {
    content.push({
      tag: 'key',
      attrs: {},
      content: [
        bytesNode('id', encodeUint(bundle.preKey.keyId, 3)),
        bytesNode('value', bundle.preKey.publicKey),
      ],
    });
  }
  return { tag: 'user', attrs: { jid }, content };
}

export function bytesNode(tag: string, content: Uint8Array): BinaryNode {
  return { tag, attrs: {}, content };
}

function childBytes(node: BinaryNode | undefined, tag: string): Buffer | undefined {
  return toBuffer(getBinaryNodeChild(node, tag)?.content);
}
