import type { Command } from '../contracts/commands.ts';
import type { Clock } from '../ports/clock.ts';
import type { CommandPublisher } from '../ports/command-publisher.ts';
import type { GatewayDeps } from '../use-cases/deps.ts';
import { InMemoryConversationStore, InMemoryUsageStore } from './in-memory-ai-stores.ts';
import { InMemoryLeaseStore } from './in-memory-lease-store.ts';
import {
  InMemoryChatbotStore,
  InMemoryIdempotencyStore,
  InMemoryMessageStore,
  InMemoryRateLimiter,
  InMemorySessionStore,
  InMemoryTenantStore,
} from './in-memory-stores.ts';

/** A clock that moves only when told. */
export class FakeClock implements Clock {
  constructor(private current = new Date('2026-01-01T12:00:00.000Z')) {}
  now = (): Date => new Date(this.current);
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** Records published commands; `failNext` makes the next publish throw like an SQS outage. */
export class RecordingCommandPublisher implements CommandPublisher {
  readonly published: { shard: number; command: Command }[] = [];
  failNext?: Error;

  async publish(shard: number, command: Command): Promise<void> {
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
    this.published.push({ shard, command });
  }
}

export type FakeGatewayDeps = GatewayDeps & {
  usage: InMemoryUsageStore;
  tenants: InMemoryTenantStore;
  chatbots: InMemoryChatbotStore;
  sessions: InMemorySessionStore;
  messages: InMemoryMessageStore;
  idempotency: InMemoryIdempotencyStore;
  commands: RecordingCommandPublisher;
  leases: InMemoryLeaseStore;
  clock: FakeClock;
};

/** Tenant API ports in memory. A runner holds every shard unless `runnerUp` is false. */
export const fakeGatewayDeps = (
  options: {
    ratePerMinute?: number;
    initsPerMinute?: number;
    sessionsPerTenant?: number;
    allowedModels?: string[];
    shardCount?: number;
    runnerUp?: boolean;
  } = {},
): FakeGatewayDeps => {
  const messages = new InMemoryMessageStore();
  const usage = new InMemoryUsageStore();
  const leases = new InMemoryLeaseStore();
  const shardCount = options.shardCount ?? 1;
  if (options.runnerUp ?? true) {
    for (let shard = 0; shard < shardCount; shard++) {
      leases.leases.set(shard, { shard, owner: 'runner', fence: 1, expiresAt: Number.MAX_SAFE_INTEGER });
    }
  }
  return {
    tenants: new InMemoryTenantStore(),
    chatbots: new InMemoryChatbotStore(),
    sessions: new InMemorySessionStore(),
    messages,
    conversations: new InMemoryConversationStore(messages, usage),
    usage,
    idempotency: new InMemoryIdempotencyStore(),
    sendRate: { limit: options.ratePerMinute ?? 60, windowSeconds: 60 },
    initRate: new InMemoryRateLimiter(options.initsPerMinute ?? 100),
    sessionCap: new InMemoryRateLimiter({ limit: options.sessionsPerTenant ?? 100 }),
    allowedModels: options.allowedModels ?? ['offline'],
    commands: new RecordingCommandPublisher(),
    leases,
    clock: new FakeClock(),
    shardCount,
  };
};
