import type { BinaryNode } from '@whiskeysockets/baileys';

/** The disconnect codes the control API can inflict, and what Baileys reports for each. */
export const DISCONNECT_CODES = [515, 440, 401, 408, 428, 403, 405, 503] as const;
export type DisconnectCode = (typeof DISCONNECT_CODES)[number];

export function isDisconnectCode(code: unknown): code is DisconnectCode {
  return DISCONNECT_CODES.includes(code as DisconnectCode);
}

/**
 * The node that makes Baileys end with `code`, or undefined for 428, which is a bare TCP drop
 * (Baileys maps a closed socket to 428 "Connection Terminated"). A 440 carries no code attribute:
 * Baileys maps `<conflict type="replaced"/>` to 440, as real WhatsApp sends it; for 401 the code
 * attribute wins over the `device_removed` child.
 */
export function streamErrorNode(code: DisconnectCode): BinaryNode | undefined {
  switch (code) {
    case 428:
      return undefined;
    case 440:
      return { tag: 'stream:error', attrs: {}, content: [{ tag: 'conflict', attrs: { type: 'replaced' } }] };
    case 401:
      return {
        tag: 'stream:error',
        attrs: { code: '401' },
        content: [{ tag: 'conflict', attrs: { type: 'device_removed' } }],
      };
    default:
      return { tag: 'stream:error', attrs: { code: String(code) } };
  }
}

/** The answer to a login the server refuses (unknown, removed or impostor device). */
export const LOGIN_REFUSED: BinaryNode = { tag: 'failure', attrs: { reason: '401' } };
