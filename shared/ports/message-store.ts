import type { Message } from '../domain/entities.ts';
import type { MessageStatus } from '../domain/session-status.ts';
import type { Page, PageRequest } from './page.ts';

export interface MessageStatusUpdate {
  status: MessageStatus;
  waMessageId?: string;
  error?: string;
  now: string;
}

export interface MessageStore {
  get(messageId: string): Promise<Message | undefined>;
  /** Stores the message unless its id exists; false when it did. */
  putIfAbsent(message: Message): Promise<boolean>;
  delete(messageId: string): Promise<void>;
  /** Moves the status forward only (receipts arrive out of order); undefined when it would not move. */
  updateStatus(messageId: string, update: MessageStatusUpdate): Promise<Message | undefined>;
  /** The messages of a conversation by creation time, oldest first unless `newestFirst`. */
  listByConversation(
    conversationId: string,
    page: PageRequest & { newestFirst?: boolean },
  ): Promise<Page<Message>>;
}
