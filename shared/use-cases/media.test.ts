import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { MediaLinkResponse } from '../contracts/media.ts';
import { NotFoundError } from '../errors.ts';
import { InMemoryMediaStore } from '../testing/in-memory-media-store.ts';
import { getMediaLink, MEDIA_LINK_SECONDS } from './media.ts';

const bytes = randomBytes(100);
const sha256 = createHash('sha256').update(bytes).digest('hex');

describe('getMediaLink', () => {
  it("gives a short-lived link and the file's description", async () => {
    const media = new InMemoryMediaStore();
    const id = randomUUID();
    await media.put('tenant-a', id, Readable.from([bytes]), { mimeType: 'image/png', size: 100, sha256 });
    const link = await getMediaLink({ media }, 'tenant-a', id);
    expect(link).toEqual({
      url: `https://media.invalid/media/tenant-a/${id}?expires=${MEDIA_LINK_SECONDS}`,
      mimeType: 'image/png',
      size: 100,
      sha256,
    });
    expect(MediaLinkResponse.safeParse(link).success).toBe(true);
  });

  it("completes an upload's sha256 and file name once, then reads the recorded ones", async () => {
    const media = new InMemoryMediaStore();
    const id = randomUUID();
    await media.reserve('tenant-a', id, { mimeType: 'application/pdf', fileName: 'offer.pdf', size: 100 });
    // As a presigned PUT leaves it: the bytes, neither sha256 nor file name.
    await media.put('tenant-a', id, Readable.from([bytes]), {
      mimeType: 'application/pdf',
      size: 100,
      sha256: '',
    });
    const complete = vi.spyOn(media, 'completeDescription');
    const described = { mimeType: 'application/pdf', fileName: 'offer.pdf', size: 100, sha256 };
    expect(await getMediaLink({ media }, 'tenant-a', id)).toMatchObject(described);
    expect(await getMediaLink({ media }, 'tenant-a', id)).toMatchObject(described);
    expect(complete).toHaveBeenCalledTimes(1);
    expect(await media.head('tenant-a', id)).toEqual(described);
  });

  it('answers 404 when the file is gone between its description and its hash', async () => {
    const media = new InMemoryMediaStore();
    const id = randomUUID();
    await media.put('tenant-a', id, Readable.from([bytes]), { mimeType: 'image/png', size: 100, sha256: '' });
    vi.spyOn(media, 'completeDescription').mockResolvedValue(undefined);
    await expect(getMediaLink({ media }, 'tenant-a', id)).rejects.toMatchObject({ code: 'MEDIA_NOT_FOUND' });
  });

  it("answers 404 for another tenant's file, never a link to it", async () => {
    const media = new InMemoryMediaStore();
    const id = randomUUID();
    await media.put('tenant-a', id, Readable.from([bytes]), { mimeType: 'image/png', size: 100, sha256 });
    const refused = getMediaLink({ media }, 'tenant-b', id);
    await expect(refused).rejects.toBeInstanceOf(NotFoundError);
    await expect(refused).rejects.toMatchObject({ code: 'MEDIA_NOT_FOUND' });
  });
});
