import { describe, expect, it } from 'vitest';
import { MEDIA_SIZE_LIMITS, mediaKindOf, outgoingMediaNote, outgoingMediaProblem } from './outgoing-media.ts';

const MB = 1024 * 1024;

describe('which files a tenant may send', () => {
  it.each([
    ['image/jpeg', 'image'],
    ['IMAGE/PNG', 'image'],
    ['image/webp', 'image'],
    ['audio/ogg; codecs=opus', 'audio'],
    ['audio/mpeg', 'audio'],
    ['audio/mp4', 'audio'],
    ['video/mp4', 'video'],
    ['application/pdf', 'document'],
    ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'document'],
    ['text/csv', 'document'],
  ])('sends %s as %s', (mimeType, kind) => {
    expect(mediaKindOf(mimeType)).toBe(kind);
  });

  it.each(['image/gif', 'image/bmp', 'audio/wav', 'video/webm', 'video/quicktime'])(
    'refuses %s with the supported types in the reason',
    (mimeType) => {
      expect(outgoingMediaProblem(mimeType, 10)).toMatchObject({
        code: 'UNSUPPORTED_MEDIA',
        reason: expect.stringContaining('images are JPEG, PNG or WebP'),
      });
    },
  );

  it.each(['', 'pdf', 'application/', '../etc/passwd', 'text/plain\r\nx: y'])(
    'refuses %j as no media type',
    (mimeType) => {
      expect(outgoingMediaProblem(mimeType, 10)?.code).toBe('UNSUPPORTED_MEDIA');
    },
  );

  it('caps sizes as WhatsApp does: images 5 MB, audio and video 16 MB, documents 100 MB', () => {
    expect(MEDIA_SIZE_LIMITS).toEqual({ image: 5 * MB, audio: 16 * MB, video: 16 * MB, document: 100 * MB });
    expect(outgoingMediaProblem('image/jpeg', 5 * MB)).toBeUndefined();
    expect(outgoingMediaProblem('image/jpeg', 5 * MB + 1)).toMatchObject({
      code: 'MEDIA_TOO_LARGE',
      reason: expect.stringContaining('at most 5 MB'),
    });
    expect(outgoingMediaProblem('audio/mpeg', 16 * MB + 1)?.code).toBe('MEDIA_TOO_LARGE');
    expect(outgoingMediaProblem('video/mp4', 16 * MB)).toBeUndefined();
    expect(outgoingMediaProblem('application/zip', 100 * MB)).toBeUndefined();
    expect(outgoingMediaProblem('application/zip', 100 * MB + 1)?.code).toBe('MEDIA_TOO_LARGE');
  });

  it('notes a sent file for the conversation: caption, or a document by its name', () => {
    expect(outgoingMediaNote({ mimeType: 'application/pdf', fileName: 'a.pdf' })).toBe('[document: a.pdf]');
    expect(outgoingMediaNote({ mimeType: 'image/png', caption: 'lid' })).toBe('[image: lid]');
    expect(outgoingMediaNote({ mimeType: 'audio/ogg; codecs=opus' })).toBe('[voice note]');
    expect(outgoingMediaNote({ mimeType: 'audio/mpeg' })).toBe('[audio]');
  });
});
