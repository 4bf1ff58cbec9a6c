import type { Message } from '../domain/entities.ts';
import { isMessageProgress, MESSAGE_STATUSES } from '../domain/session-status.ts';
import type {
  ClaimOutcome,
  MessageStatusUpdate,
  MessageStore,
  QueuedSend,
  SendClaim,
  SendGiveUp,
  SentMedia,
} from '../ports/message-store.ts';
import type { Page, PageRequest } from '../ports/page.ts';
import { queryPage } from './dynamodb-page.ts';
import { type DynamoTable, entityOf, updateExpression } from './dynamodb-table.ts';
import { GSI2, GSI3 } from './table-definitions.ts';

const messageKey = (messageId: string) => ({ pk: `MESSAGE#${messageId}` });
const conversationPartition = (conversationId: string) => `CONV#${conversationId}`;
/** gsi2 (sparse): a session's sends while QUEUED; a final status removes the keys. */
const queuedPartition = (sessionId: string) => `QUEUED#${sessionId}`;
/** gsi3 (sparse, keys only): a claimed send by its WhatsApp id, per session (ids are only unique per account). */
const waIdPartition = (sessionId: string) => `WAID#${sessionId}`;
/**
 * The link item a send claimed before gsi3 got (WhatsApp id → messageId, expiring 60 days after its
 * claim): only read now, for receipts and retry requests of those sends.
 */
const legacyWaIdKey = (sessionId: string, waMessageId: string) => ({
  pk: `WAMSG#${sessionId}#${waMessageId}`,
});
/** WhatsApp ids this process claimed, remembered for their receipts (about 1 MB at most). */
const RECENT_CLAIMS = 10_000;

/** The stored item of a message (also written inside the conversation store's transaction). */
export const messageItem = (message: Message): Record<string, unknown> => ({
  ...messageKey(message.messageId),
  ...(message.conversationId && {
    gsi1pk: conversationPartition(message.conversationId),
    gsi1sk: `${message.createdAt}#${message.messageId}`,
  }),
  ...(message.status === 'QUEUED' && {
    gsi2pk: queuedPartition(message.sessionId),
    gsi2sk: `${message.createdAt}#${message.messageId}`,
  }),
  ...message,
});

/** The entity without the runner's bookkeeping (fence, send claim, sweeper's resends, gsi2 keys). */
const messageOf = (item: Record<string, unknown> | undefined): Message | undefined => {
  const entity = entityOf<Record<string, unknown>>(item);
  if (!entity) return undefined;
  const {
    fence: _f,
    claimedBy: _b,
    claimedAt: _a,
    resends: _r,
    resentAt: _ra,
    gsi2pk: _g1,
    gsi2sk: _g2,
    gsi3pk: _g3,
    gsi3sk: _g4,
    ...message
  } = entity;
  return message as unknown as Message;
};

/** A fence condition: nobody with a newer fence has written the message. */
const FENCE_OK = '(attribute_not_exists(fence) OR fence <= :fence)';

/** Messages by id; those in a conversation are also listed by time through gsi1 (`CONV#id`). */
export class DynamoMessageStore implements MessageStore {
  /**
   * `session#waId` → messageId of the sends this process claimed: their receipts (which come within
   * seconds, possibly before gsi3, an eventually consistent index, has the claim) need no lookup.
   */
  private readonly recentClaims = new Map<string, string>();

  constructor(private readonly table: DynamoTable) {}

  async get(messageId: string): Promise<Message | undefined> {
    return messageOf(await this.table.get(messageKey(messageId)));
  }

  putIfAbsent(message: Message): Promise<boolean> {
    return this.table.put(messageItem(message), { ConditionExpression: 'attribute_not_exists(pk)' });
  }

  async delete(messageId: string): Promise<void> {
    await this.table.delete(messageKey(messageId));
  }

  async updateStatus(messageId: string, update: MessageStatusUpdate): Promise<Message | undefined> {
    const from = MESSAGE_STATUSES.filter((s) => isMessageProgress(s, update.status));
    if (from.length === 0) return undefined;
    const patch = updateExpression({
      status: update.status,
      waMessageId: update.waMessageId,
      error: update.error,
      updatedAt: update.now,
      fence: update.fence,
      // A final status ends any claim, and takes the message off the sweeper's index.
      claimedBy: null,
      claimedAt: null,
      gsi2pk: null,
      gsi2sk: null,
      waMedia: update.sentMedia?.waMedia,
    });
    // A sent file's real size and sha256 replace the ones known at the API (none for a URL).
    const media = update.sentMedia && {
      set: ['#media.#size = :size', '#media.#sha256 = :sha256'],
      names: { '#media': 'media', '#size': 'size', '#sha256': 'sha256' },
      values: { ':size': update.sentMedia.size, ':sha256': update.sentMedia.sha256 },
    };
    const fromValues = Object.fromEntries(from.map((s, i) => [`:from${i}`, s]));
    const conditions = [
      'attribute_exists(pk)',
      `#status IN (${Object.keys(fromValues).join(', ')})`,
      ...(update.fence === undefined ? [] : [FENCE_OK]),
      ...(update.sessionId === undefined ? [] : ['sessionId = :sid']),
    ];
    return messageOf(
      await this.table.update(messageKey(messageId), {
        UpdateExpression: `SET ${[...patch.set, ...(media?.set ?? [])].join(', ')} REMOVE ${patch.remove.join(', ')}`,
        ConditionExpression: [...conditions, ...(media ? ['attribute_exists(#media)'] : [])].join(' AND '),
        ExpressionAttributeNames: { ...patch.names, ...media?.names, '#status': 'status' },
        ExpressionAttributeValues: {
          ...patch.values,
          ...media?.values,
          ...fromValues,
          ...(update.fence !== undefined && { ':fence': update.fence }),
          ...(update.sessionId !== undefined && { ':sid': update.sessionId }),
        },
      }),
    );
  }

  async claimSend(messageId: string, claim: SendClaim): Promise<ClaimOutcome> {
    const claimed = await this.table.update(messageKey(messageId), {
      // The WhatsApp id goes into gsi3 with the claim, before anything goes out: receipts and retry
      // requests find the message after a restart (no second write, as the link item was).
      UpdateExpression:
        'SET fence = :fence, claimedBy = :runner, claimedAt = :now, waMessageId = :wa, gsi3pk = :wapk, gsi3sk = :wa',
      ConditionExpression: [
        'attribute_exists(pk) AND #status = :queued AND sessionId = :sid AND tenantId = :tid',
        // Never from a newer owner; from an older one always; from our own fence only when the
        // claim was given back or is older than the bound (a crash between claim and outcome).
        'AND (attribute_not_exists(fence) OR fence < :fence OR (fence = :fence AND',
        '(attribute_not_exists(claimedAt) OR claimedAt < :stale)))',
      ].join(' '),
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':fence': claim.fence,
        ':runner': claim.runnerId,
        ':now': claim.now,
        ':wa': claim.waMessageId,
        ':wapk': waIdPartition(claim.sessionId),
        ':queued': 'QUEUED',
        ':sid': claim.sessionId,
        ':tid': claim.tenantId,
        ':stale': claim.staleBefore,
      },
    });
    if (claimed) {
      this.remember(claim.sessionId, claim.waMessageId, messageId);
      return { kind: 'claimed', message: messageOf(claimed) as Message };
    }
    const message = await this.get(messageId);
    if (!message || message.sessionId !== claim.sessionId || message.tenantId !== claim.tenantId)
      return { kind: 'foreign' };
    if (message.status !== 'QUEUED') return { kind: 'final', message };
    return { kind: 'busy' };
  }

  async releaseSend(messageId: string, holder: { fence: number; runnerId: string }): Promise<void> {
    await this.table.update(messageKey(messageId), {
      UpdateExpression: 'REMOVE claimedBy, claimedAt',
      ConditionExpression: 'fence = :fence AND claimedBy = :runner',
      ExpressionAttributeValues: { ':fence': holder.fence, ':runner': holder.runnerId },
    });
  }

  async listQueued(sessionId: string, page: { createdBefore: string; limit: number }): Promise<QueuedSend[]> {
    const { items } = await this.table.query({
      IndexName: GSI2,
      KeyConditionExpression: 'gsi2pk = :p AND gsi2sk < :before',
      ExpressionAttributeValues: { ':p': queuedPartition(sessionId), ':before': page.createdBefore },
      Limit: page.limit,
    });
    return items.map((item) => ({
      message: messageOf(item) as Message,
      resends: typeof item.resends === 'number' ? item.resends : 0,
      ...(typeof item.claimedAt === 'string' && { claimedAt: item.claimedAt }),
      ...(typeof item.resentAt === 'string' && { resentAt: item.resentAt }),
    }));
  }

  async noteResend(messageId: string, holder: { fence: number; now: string }): Promise<number | undefined> {
    const item = await this.table.update(messageKey(messageId), {
      UpdateExpression: 'SET resentAt = :now ADD resends :one',
      ConditionExpression: `attribute_exists(pk) AND #status = :queued AND ${FENCE_OK}`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':now': holder.now,
        ':one': 1,
        ':queued': 'QUEUED',
        ':fence': holder.fence,
      },
    });
    return typeof item?.resends === 'number' ? item.resends : undefined;
  }

  async giveUpSend(messageId: string, giveUp: SendGiveUp): Promise<Message | undefined> {
    return messageOf(
      await this.table.update(messageKey(messageId), {
        UpdateExpression:
          'SET #status = :failed, #error = :error, updatedAt = :now, fence = :fence REMOVE claimedBy, claimedAt, gsi2pk, gsi2sk',
        ConditionExpression: [
          `attribute_exists(pk) AND #status = :queued AND sessionId = :sid AND ${FENCE_OK}`,
          'AND (attribute_not_exists(claimedAt) OR claimedAt < :stale)',
        ].join(' '),
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
        ExpressionAttributeValues: {
          ':failed': 'FAILED',
          ':queued': 'QUEUED',
          ':error': giveUp.error,
          ':now': giveUp.now,
          ':fence': giveUp.fence,
          ':sid': giveUp.sessionId,
          ':stale': giveUp.claimStaleBefore,
        },
      }),
    );
  }

  async recordSentMedia(
    messageId: string,
    record: { sentMedia: SentMedia; fence: number; sessionId: string },
  ): Promise<Message | undefined> {
    return messageOf(
      await this.table.update(messageKey(messageId), {
        UpdateExpression: 'SET #media.#size = :size, #media.#sha256 = :sha256, waMedia = :wa',
        ConditionExpression: `attribute_exists(#media) AND sessionId = :sid AND ${FENCE_OK} AND #status IN (:sent, :delivered, :read)`,
        ExpressionAttributeNames: {
          '#media': 'media',
          '#size': 'size',
          '#sha256': 'sha256',
          '#status': 'status',
        },
        ExpressionAttributeValues: {
          ':size': record.sentMedia.size,
          ':sha256': record.sentMedia.sha256,
          ':wa': record.sentMedia.waMedia,
          ':sid': record.sessionId,
          ':fence': record.fence,
          ':sent': 'SENT',
          ':delivered': 'DELIVERED',
          ':read': 'READ',
        },
      }),
    );
  }

  async findByWaMessageId(sessionId: string, waMessageId: string): Promise<Message | undefined> {
    const messageId =
      this.recentClaims.get(`${sessionId}#${waMessageId}`) ??
      (await this.indexedSend(sessionId, waMessageId)) ??
      (await this.table.get<{ messageId?: string }>(legacyWaIdKey(sessionId, waMessageId)))?.messageId;
    const message = messageId ? await this.get(messageId) : undefined;
    return message?.sessionId === sessionId && message.waMessageId === waMessageId ? message : undefined;
  }

  async findIdByWaMessageId(sessionId: string, waMessageId: string): Promise<string | undefined> {
    // Claimed here under this session and WhatsApp id (deterministic per message, never changed):
    // the consistent read that `findByWaMessageId` adds to check them would only cost a request.
    return (
      this.recentClaims.get(`${sessionId}#${waMessageId}`) ??
      (await this.findByWaMessageId(sessionId, waMessageId))?.messageId
    );
  }

  /** The messageId gsi3 lists under the WhatsApp id (the item itself is read strongly consistent). */
  private async indexedSend(sessionId: string, waMessageId: string): Promise<string | undefined> {
    const { items } = await this.table.query({
      IndexName: GSI3,
      KeyConditionExpression: 'gsi3pk = :p AND gsi3sk = :wa',
      ExpressionAttributeValues: { ':p': waIdPartition(sessionId), ':wa': waMessageId },
      Limit: 1,
    });
    const pk = items[0]?.pk;
    return typeof pk === 'string' ? pk.slice('MESSAGE#'.length) : undefined;
  }

  private remember(sessionId: string, waMessageId: string, messageId: string): void {
    const key = `${sessionId}#${waMessageId}`;
    this.recentClaims.delete(key);
    this.recentClaims.set(key, messageId);
    // Oldest first out: a Map iterates in insertion order.
    if (this.recentClaims.size > RECENT_CLAIMS) {
      const oldest = this.recentClaims.keys().next().value;
      if (oldest !== undefined) this.recentClaims.delete(oldest);
    }
  }

  async listByConversation(
    conversationId: string,
    page: PageRequest & { newestFirst?: boolean },
  ): Promise<Page<Message>> {
    return queryPage(
      this.table,
      {
        index: 'gsi1',
        partition: conversationPartition(conversationId),
        pkPrefix: 'MESSAGE#',
        newestFirst: page.newestFirst ?? false,
      },
      page,
      messageOf,
    );
  }
}
