import * as z from '../zod.ts';
import { MessageText, Uuid } from './common.ts';

const base = {
  v: z.literal(1),
  sessionId: Uuid,
  commandId: z.string().check(z.minLength(1), z.maxLength(128)),
};

export const StartCommand = z.object({
  ...base,
  type: z.literal('start'),
  pairingPhoneNumber: z.optional(z.string()),
});
/**
 * Conversation manners of an AI reply: the incoming message it answers is marked read, and the
 * contact sees "typing…" for a moment proportional to the reply before it arrives.
 */
export const SendManners = z.object({
  /** The incoming message being answered, and its chat JID. */
  readWaMessageId: z.string().check(z.minLength(1), z.maxLength(256)),
  chat: z.string().check(z.minLength(1), z.maxLength(256)),
});
/** The file of a send (the stored message's `media` is the truth; this copy is for reading the queue). */
export const SendMediaRef = z.object({
  /** Absent for a file sent by URL. */
  mediaId: z.optional(Uuid),
  url: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  mimeType: z.string().check(z.minLength(1), z.maxLength(255)),
  fileName: z.optional(z.string().check(z.minLength(1), z.maxLength(240))),
  caption: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
});
export const SendCommand = z.object({
  ...base,
  type: z.literal('send'),
  messageId: Uuid,
  to: z.string().check(z.minLength(1)),
  text: MessageText,
  manners: z.optional(SendManners),
  media: z.optional(SendMediaRef),
});
export const StopCommand = z.object({ ...base, type: z.literal('stop'), logout: z.boolean() });
/**
 * The tenant deleted the session (it is DELETING): unlink the device if it can, delete the auth
 * state and the session record; with `purge`, its conversations and messages too.
 */
export const DeleteCommand = z.object({ ...base, type: z.literal('delete'), purge: z.boolean() });

/** A command on `commands-<shard>.fifo`: one ordered stream per session (MessageGroupId = sessionId). */
export const Command = z.discriminatedUnion('type', [StartCommand, SendCommand, StopCommand, DeleteCommand]);
export type Command = z.infer<typeof Command>;
export type SendCommand = z.infer<typeof SendCommand>;
export type SendManners = z.infer<typeof SendManners>;
export type SendMediaRef = z.infer<typeof SendMediaRef>;
export type DeleteCommand = z.infer<typeof DeleteCommand>;
