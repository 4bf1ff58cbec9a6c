import type { SendManners } from '../contracts/commands.ts';
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
  });
