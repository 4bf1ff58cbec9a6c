import { type BinaryNode, getBinaryNodeChild } from '@whiskeysockets/baileys';
import type { AccountRegistry, ResolvedJid } from './accounts.ts';
import { toBuffer } from './binary.ts';

/**
 * Answers `iq get usync`: device lists (`devices`), PN→LID (`lid`) and "is on WhatsApp"
 * (`contact`). Every number is a WhatsApp user; device 0 is the phone, companions carry the
 * key index Baileys requires of non-zero devices.
 */
export function answerUsync(registry: AccountRegistry, usync: BinaryNode): BinaryNode {
  const protocols = new Set(childrenOf(getBinaryNodeChild(usync, 'query')).map((child) => child.tag));
  const users = childrenOf(getBinaryNodeChild(usync, 'list')).map((user) =>
    answerUser(registry, user, protocols),
  );
  return {
    tag: 'usync',
    attrs: { ...usync.attrs },
    content: [
      { tag: 'result', attrs: {} },
      { tag: 'list', attrs: {}, content: users },
    ],
  };
}

function answerUser(registry: AccountRegistry, user: BinaryNode, protocols: Set<string>): BinaryNode {
  const phoneQuery = toBuffer(getBinaryNodeChild(user, 'contact')?.content)?.toString('utf-8');
  const jid = user.attrs.jid ?? (phoneQuery ? `${phoneQuery.replace(/\D/g, '')}@s.whatsapp.net` : '');
  const resolved = registry.resolve(jid);
  const content: BinaryNode[] = [];
  if (protocols.has('contact')) content.push({ tag: 'contact', attrs: { type: resolved ? 'in' : 'out' } });
  if (resolved && protocols.has('devices')) content.push(devicesNode(resolved));
  // A LID-addressed query already names the LID; WhatsApp answers the mapping only for PNs.
  if (resolved && protocols.has('lid') && resolved.server === 's.whatsapp.net') {
    content.push({ tag: 'lid', attrs: { val: resolved.account.lidJid() } });
  }
  return { tag: 'user', attrs: { jid }, content };
}

function devicesNode({ account }: ResolvedJid): BinaryNode {
  const devices: BinaryNode[] = [{ tag: 'device', attrs: { id: '0' } }];
  for (const companion of account.companions.values()) {
    devices.push({
      tag: 'device',
      attrs: { id: String(companion.id), 'key-index': String(companion.keyIndex) },
    });
  }
  return {
    tag: 'devices',
    attrs: {},
    content: [
      { tag: 'device-list', attrs: {}, content: devices },
      { tag: 'key-index-list', attrs: { ts: String(Math.floor(Date.now() / 1000)) } },
    ],
  };
}

function childrenOf(node: BinaryNode | undefined): BinaryNode[] {
  return Array.isArray(node?.content) ? node.content : [];
}
