import { type BinaryNode, getBinaryNodeChild, getBinaryNodeChildren } from '@whiskeysockets/baileys';
import type { Account, AccountRegistry } from './accounts.ts';
import { SERVER_JID } from './binary.ts';
import type { Connection } from './connection.ts';
import { SimulatorError } from './errors.ts';
import { bundleNode, parsePreKeyUpload, parseSignedPreKey } from './key-bundles.ts';
import type { Pairing } from './pairing.ts';
import { answerUsync } from './usync.ts';

/** What IQ handlers may touch. */
export interface IqServices {
  registry: AccountRegistry;
  pairing: Pairing;
  /** The device sent `<active/>`: deliver what waited for it. */
  activate(connection: Connection): void;
  /** The device unlinked itself (`sock.logout()`). */
  removeDevice(account: Account, device: number): void;
  /** Where uploads go (`host:port` of the loopback media host) and the auth they must carry. */
  mediaConn(): { hostname: string; auth: string };
}

type IqContent = BinaryNode[] | undefined;
type IqHandler = (
  services: IqServices,
  connection: Connection,
  child: BinaryNode,
  iq: BinaryNode,
) => IqContent;

/**
 * Answers every IQ a Baileys client sends. Baileys blocks up to `defaultQueryTimeoutMs` on each
 * one, and login runs count → upload → passive → digest in sequence, so anything without a
 * handler still gets an empty `result`.
 */
export function handleIq(services: IqServices, connection: Connection, iq: BinaryNode): void {
  const { id, type, xmlns } = iq.attrs;
  if (!id || (type !== 'get' && type !== 'set')) return;
  const child = Array.isArray(iq.content) ? iq.content[0] : undefined;
  const handler = child && HANDLERS[`${xmlns} ${type} ${child.tag}`];
  let content: IqContent;
  try {
    content = handler ? handler(services, connection, child, iq) : undefined;
  } catch (error) {
    const code = error instanceof SimulatorError ? error.status : 500;
    connection.sendNode(
      reply(id, 'error', [{ tag: 'error', attrs: { code: String(code), text: 'bad-request' } }]),
    );
    return;
  }
  connection.sendNode(reply(id, 'result', content));
  if (xmlns === 'passive' && child?.tag === 'active') services.activate(connection);
}

const HANDLERS: Record<string, IqHandler> = {
  'encrypt get count': (_, connection) => [
    { tag: 'count', attrs: { value: String(ownCompanion(connection)?.preKeys.size ?? 0) } },
  ],
  'encrypt set registration': (_, connection, _child, iq) => {
    const upload = parsePreKeyUpload(iq);
    const device = connection.device;
    if (!upload || !device?.account.storeUpload(device.companion.id, upload)) {
      throw new SimulatorError('INVALID_UPLOAD', 'pre-key upload refused');
    }
    return undefined;
  },
  'encrypt set rotate': (_, connection, child) => {
    const signedPreKey = parseSignedPreKey(getBinaryNodeChild(child, 'skey'));
    const companion = ownCompanion(connection);
    if (!signedPreKey || !companion) {
      throw new SimulatorError('INVALID_UPLOAD', 'signed pre-key rotation refused');
    }
    companion.signedPreKey = signedPreKey;
    return undefined;
  },
  // Baileys only checks that a digest is there; without one it uploads its pre-keys again.
  'encrypt get digest': () => [{ tag: 'digest', attrs: {} }],
  'encrypt get key': ({ registry }, _, child) => [
    {
      tag: 'list',
      attrs: {},
      content: getBinaryNodeChildren(child, 'user').map(({ attrs: { jid = '' } }) => {
        const target = registry.resolve(jid);
        const bundle = target?.account.takeBundle(target.device);
        return bundle ? bundleNode(jid, bundle) : notFound(jid);
      }),
    },
  ],
  'usync get usync': ({ registry }, _, child) => [answerUsync(registry, child)],
  'md set link_code_companion_reg': ({ pairing }, connection, child) =>
    pairing.code.onLinkCodeIq(connection, child),
  'md set remove-companion-device': (services, connection) => {
    if (connection.device) services.removeDevice(connection.device.account, connection.device.companion.id);
    return undefined;
  },
  // Baileys asks before every upload (and caches it for `ttl` seconds).
  'w:m set media_conn': (services) => {
    const { hostname, auth } = services.mediaConn();
    return [
      {
        tag: 'media_conn',
        attrs: { auth, ttl: '300', auth_ttl: '21600', max_buckets: '12' },
        content: [{ tag: 'host', attrs: { hostname, maxContentLengthBytes: String(64 * 1024 * 1024) } }],
      },
    ];
  },
  'abt get props': () => [{ tag: 'props', attrs: { protocol: '1', hash: 'simulator' } }],
  'privacy get privacy': () => [
    {
      tag: 'privacy',
      attrs: {},
      content: ['readreceipts', 'last', 'online', 'profile', 'status', 'groupadd'].map((name) => ({
        tag: 'category',
        attrs: { name, value: name === 'groupadd' || name === 'readreceipts' ? 'all' : 'contacts' },
      })),
    },
  ],
};

function ownCompanion(connection: Connection) {
  return connection.device?.companion;
}

function notFound(jid: string): BinaryNode {
  return {
    tag: 'user',
    attrs: { jid },
    content: [{ tag: 'error', attrs: { code: '404', text: 'item-not-found' } }],
  };
}

function reply(id: string, type: 'result' | 'error', content: IqContent): BinaryNode {
  return { tag: 'iq', attrs: { from: SERVER_JID, type, id }, ...(content ? { content } : {}) };
}
