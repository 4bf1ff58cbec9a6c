import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { getMediaKeys } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { decryptingStream, MediaDownloadError } from './whatsapp-media.ts';

// The decryptor alone: WhatsApp's media encryption (AES-256-CBC, HMAC-SHA256 over IV and
// ciphertext, its first 10 bytes appended) fed in chunks cut anywhere, as a download delivers them.

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

const encrypted = async (plain: Buffer) => {
  const keys = await getMediaKeys(randomBytes(32), 'video');
  const cipher = createCipheriv('aes-256-cbc', keys.cipherKey, keys.iv);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  const mac = createHmac('sha256', keys.macKey as Uint8Array)
    .update(keys.iv)
    .update(ciphertext)
    .digest()
    .subarray(0, 10);
  const file = Buffer.concat([ciphertext, mac]);
  return {
    keys,
    file,
    media: { fileSha256: sha256(plain), fileEncSha256: sha256(file), fileLength: plain.length },
  };
};

/** Writes `file` in chunks of the given sizes (the last one takes the rest) and reads the plain bytes. */
const decrypt = async ({ keys, file, media }: Awaited<ReturnType<typeof encrypted>>, sizes: number[]) => {
  const { stream, done } = decryptingStream(media, keys);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  let at = 0;
  for (const size of sizes) {
    if (at >= file.length) break;
    stream.write(file.subarray(at, at + size));
    at += size;
  }
  if (at < file.length) stream.write(file.subarray(at));
  stream.end();
  await ended;
  return { plain: Buffer.concat(out), described: await done };
};

describe('the media decryptor', () => {
  it.each([
    ['one chunk', [Number.MAX_SAFE_INTEGER]],
    ['16 KiB chunks', Array(100).fill(16_384)],
    ['chunks shorter than the MAC', [1, 3, 9, 10, 11, 7, 2, 16, 5]],
    ['a last chunk shorter than the MAC', [50_000 + 16 - 4]],
  ])('gives the plain bytes, their size and sha256, from %s', async (_name, sizes) => {
    const plain = randomBytes(50_000);
    const { plain: out, described } = await decrypt(await encrypted(plain), sizes);
    expect(out.equals(plain)).toBe(true);
    expect(described).toEqual({ size: plain.length, sha256: sha256(plain).toString('hex') });
  });

  it('fails the stream and its check when one byte of the file was changed', async () => {
    const file = await encrypted(randomBytes(20_000));
    file.file[100] = (file.file[100] as number) ^ 1;
    const failure = await decrypt(file, Array(10).fill(4096)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(MediaDownloadError);
    expect((failure as Error).message).toBe('the media MAC does not match');
  });
});
