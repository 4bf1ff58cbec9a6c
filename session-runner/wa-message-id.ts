import { createHash } from 'node:crypto';

/**
 * The WhatsApp message id of one of our messages, derived from its messageId in Baileys' own format
 * (`3EB0` + 18 hex digits): a redelivered send command resends the same id, and the recipient's
 * phone shows one message.
 */
export const waMessageIdFor = (messageId: string): string =>
  `3EB0${createHash('sha256').update(messageId).digest('hex').slice(0, 18).toUpperCase()}`;

/**
 * Whether a WhatsApp id can be one of our sends (Baileys' `3EB0` prefix, ours included): a receipt
 * for another id (the phone's own messages) is not worth waiting for the index to find it.
 */
export const mayBeOurWaMessageId = (waMessageId: string): boolean => waMessageId.startsWith('3EB0');
