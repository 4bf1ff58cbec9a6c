import { aesDecryptGCM, aesEncryptGCM } from '@whiskeysockets/baileys';

const WA_MAGIC = Buffer.from('WA');
const EDGE_ROUTING_MAGIC = Buffer.from('ED');
const MAX_FRAME = 0xffffff;

/**
 * Reassembles the client's byte stream into frames: an optional edge-routing prefix and the
 * 4-byte intro header come first, then 3-byte big-endian lengths. WebSocket messages need not
 * line up with frames, so bytes are buffered.
 */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  /** The `WA <version> <dict>` header, once seen; the Noise transcript starts with it. */
  introHeader: Buffer | undefined;

  /** Adds bytes; returns every frame now complete. Throws on a stream that is not WhatsApp Web. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (!this.introHeader && !this.readIntro()) return [];
    const frames: Buffer[] = [];
    while (this.pending.length >= 3) {
      const size = this.pending.readUIntBE(0, 3);
      if (this.pending.length < size + 3) break;
      frames.push(this.pending.subarray(3, size + 3));
      this.pending = this.pending.subarray(size + 3);
    }
    return frames;
  }

  private readIntro(): boolean {
    let offset = 0;
    if (this.pending.length >= 2 && this.pending.subarray(0, 2).equals(EDGE_ROUTING_MAGIC)) {
      if (this.pending.length < 7) return false;
      offset = 7 + this.pending.readUIntBE(4, 3);
    }
    if (this.pending.length < offset + 4) return false;
    const header = this.pending.subarray(offset, offset + 4);
    if (!header.subarray(0, 2).equals(WA_MAGIC)) throw new Error('not a WhatsApp Web stream');
    this.introHeader = Buffer.from(header);
    this.pending = this.pending.subarray(offset + 4);
    return true;
  }
}

/** Prefixes a frame with its 3-byte length (server frames carry no intro header). */
export function encodeFrame(data: Uint8Array): Buffer {
  if (data.length > MAX_FRAME) throw new Error('frame too large');
  const frame = Buffer.allocUnsafe(3 + data.length);
  frame.writeUIntBE(data.length, 0, 3);
  frame.set(data, 3);
  return frame;
}

/** Post-handshake AES-256-GCM with one counter per direction and no associated data. */
export class TransportCipher {
  private readCounter = 0;
  private writeCounter = 0;

  constructor(
    private readonly encryptKey: Buffer,
    private readonly decryptKey: Buffer,
  ) {}

  encrypt(plaintext: Uint8Array): Buffer {
    return aesEncryptGCM(plaintext, this.encryptKey, transportIv(this.writeCounter++), EMPTY);
  }

  decrypt(ciphertext: Uint8Array): Buffer {
    return aesDecryptGCM(ciphertext, this.decryptKey, transportIv(this.readCounter++), EMPTY);
  }
}

const EMPTY = Buffer.alloc(0);

function transportIv(counter: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter, 8);
  return iv;
}
