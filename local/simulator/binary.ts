import { jidDecode } from '@whiskeysockets/baileys';

/** The server's own address, as WhatsApp writes it in `from` (Baileys accepts it, see docs/whatsapp-simulator.md). */
export const SERVER_JID = 's.whatsapp.net';

/** Unix time in whole seconds, the unit of every `t` attribute. */
export const unixNow = (): number => Math.floor(Date.now() / 1000);

/** A big-endian unsigned integer of `length` bytes, the form of registration ids and key ids in nodes. */
export function encodeUint(value: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  out.writeUIntBE(value, 0, length);
  return out;
}

/** Reads a big-endian unsigned integer of any length up to 6 bytes. */
export function decodeUint(bytes: Uint8Array): number {
  return bytes.length === 0 ? 0 : Buffer.from(bytes).readUIntBE(0, bytes.length);
}

/** Node content as a Buffer, whatever form the decoder gave it. */
export function toBuffer(content: unknown): Buffer | undefined {
  if (Buffer.isBuffer(content)) return content;
  if (content instanceof Uint8Array) {
    return Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  }
  if (typeof content === 'string') return Buffer.from(content, 'utf-8');
  return undefined;
}

export interface JidParts {
  user: string;
  server: 's.whatsapp.net' | 'lid';
  device: number;
}

/** Splits a user JID (`pn[:d]@s.whatsapp.net` or `lid[:d]@lid`); anything else (groups, servers) is undefined. */
export function parseUserJid(jid: string | undefined): JidParts | undefined {
  const decoded = jid ? jidDecode(jid) : undefined;
  if (!decoded?.user) return undefined;
  if (decoded.server !== 's.whatsapp.net' && decoded.server !== 'lid') return undefined;
  return { user: decoded.user, server: decoded.server, device: decoded.device ?? 0 };
}
