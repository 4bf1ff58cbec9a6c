import type { SendManners, SendMediaRef } from '../contracts/commands.ts';
import type { Message, Session } from '../domain/entities.ts';
import type { CommandPublisher } from '../ports/command-publisher.ts';

/**
 * Enqueues the send of a stored outbound message. Its commandId is the messageId, so SQS drops a
 * second enqueue within 5 minutes, and the runner skips a message that is no longer QUEUED.
 * `manners` (AI replies): the runner marks the answered message read and shows "typing…" first.
 */
export const enqueueSend = (
  deps: { commands: CommandPublisher },
  session: Session,
  message: Message,
  manners?: SendManners,
) =>
  deps.commands.publish(session.shard, {
    v: 1,
    type: 'send',
    sessionId: session.sessionId,
    commandId: message.messageId,
    messageId: message.messageId,
    to: message.to,
    text: message.text,
    ...(manners && { manners }),
    ...(message.media && { media: sendMediaRefOf(message.media) }),
  });

/** The command's copy of a message's file (the runner sends what the stored message says). */
export const sendMediaRefOf = (media: NonNullable<Message['media']>): SendMediaRef => ({
  ...(media.mediaId && { mediaId: media.mediaId }),
  mimeType: media.mimeType,
  ...(media.url && { url: media.url }),
  ...(media.fileName && { fileName: media.fileName }),
  ...(media.caption && { caption: media.caption }),
});
