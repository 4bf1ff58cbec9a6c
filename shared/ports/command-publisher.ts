import type { Command } from '../contracts/commands.ts';

/** Puts a command on the session's shard queue (ordered per session, deduplicated by commandId). */
export interface CommandPublisher {
  publish(shard: number, command: Command): Promise<void>;
}
