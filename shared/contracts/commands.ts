import * as z from 'zod';
import { MessageText, Uuid } from './common.ts';

const base = { v: z.literal(1), sessionId: Uuid, commandId: z.string().min(1).max(128) };

export const StartCommand = z.object({
  ...base,
  type: z.literal('start'),
  pairingPhoneNumber: z.string().optional(),
});
export const SendCommand = z.object({
  ...base,
  type: z.literal('send'),
  messageId: Uuid,
  to: z.string().min(1),
  text: MessageText,
});
export const StopCommand = z.object({ ...base, type: z.literal('stop'), logout: z.boolean() });

/** A command on `commands-<shard>.fifo`: one ordered stream per session (MessageGroupId = sessionId). */
export const Command = z.discriminatedUnion('type', [StartCommand, SendCommand, StopCommand]);
export type Command = z.infer<typeof Command>;
export type SendCommand = z.infer<typeof SendCommand>;
