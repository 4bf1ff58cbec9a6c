import type { FaultStack } from './fault-stack.ts';
import type { RowResult } from './row.ts';
import { r1KillRunner } from './scenarios/r1-kill-runner.ts';
import { r2DeployAndFreeze } from './scenarios/r2-deploy-and-freeze.ts';
import { r3FifoGroups } from './scenarios/r3-fifo-groups.ts';
import { r4DependencyOutages } from './scenarios/r4-dependency-outages.ts';
import { r5DisconnectCodes } from './scenarios/r5-disconnect-codes.ts';
import { r6TakeoverFaults } from './scenarios/r6-takeover-faults.ts';

/** The sizes of one run: `full` for `npm run faults`, `short` inside `npm test`. */
export type RunSize = 'full' | 'short';

export interface Row {
  key: string;
  run(stack: FaultStack, size: RunSize, progress: (line: string) => void): Promise<RowResult>;
}

/** Every built row, in the order they run. */
export const ROWS: Row[] = [
  {
    key: 'r1',
    run: (stack, size, progress) =>
      r1KillRunner(
        stack,
        size === 'full'
          ? { sessions: 10, messages: 200, rounds: 5, leaseMs: 30_000 }
          : { sessions: 2, messages: 10, rounds: 1 },
        progress,
      ),
  },
  {
    key: 'r3',
    run: (stack, size, progress) =>
      r3FifoGroups(
        stack,
        size === 'full' ? { sessions: 5, messages: 100 } : { sessions: 2, messages: 10 },
        progress,
      ),
  },
  {
    key: 'r4',
    run: (stack, size, progress) =>
      r4DependencyOutages(
        stack,
        size === 'full'
          ? // Sockets ride out a DynamoDB outage of at least half the lease (the last renewal can be a
            // third of it old, the sockets go a sixth before expiry): 30 s needs a lease over 60 s.
            { sessions: 5, outageMs: 30_000, leaseMs: 75_000 }
          : { sessions: 2, outageMs: 4_000, leaseMs: 30_000 },
        progress,
      ),
  },
  {
    key: 'r2',
    run: (stack, size, progress) =>
      r2DeployAndFreeze(stack, { sessions: size === 'full' ? 10 : 2 }, progress),
  },
  {
    key: 'r5',
    run: (stack, size, progress) => r5DisconnectCodes(stack, { repeats: size === 'full' ? 3 : 2 }, progress),
  },
  {
    key: 'r6',
    run: (stack, size, progress) =>
      r6TakeoverFaults(
        stack,
        size === 'full'
          ? { sessions: 5, listingFailsMs: 5_000, hangListing: true }
          : { sessions: 2, listingFailsMs: 3_000, hangListing: false },
        progress,
      ),
  },
];
