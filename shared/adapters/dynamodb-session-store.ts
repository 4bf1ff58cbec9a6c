import type { DesiredState, Session } from '../domain/entities.ts';
import { allowedPredecessors } from '../domain/session-status.ts';
import type { Page, PageRequest } from '../ports/page.ts';
import type { SessionStore, SessionTransition } from '../ports/session-store.ts';
import { queryPage } from './dynamodb-page.ts';
import { type DynamoTable, entityOf, updateExpression } from './dynamodb-table.ts';

const sessionKey = (sessionId: string) => ({ pk: `SESSION#${sessionId}` });
const shardKey = (shard: number) => `SHARD#${shard}`;
/** The tenant's sessions in gsi2, by creation time. */
const tenantPartition = (tenantId: string) => `TENANTSESSIONS#${tenantId}`;
const FENCE_OK = '(attribute_not_exists(fence) OR fence <= :fence)';

export class DynamoSessionStore implements SessionStore {
  constructor(private readonly table: DynamoTable) {}

  async get(sessionId: string): Promise<Session | undefined> {
    return entityOf<Session>(await this.table.get(sessionKey(sessionId)));
  }

  create(session: Session): Promise<boolean> {
    const item = {
      ...sessionKey(session.sessionId),
      gsi1pk: shardKey(session.shard),
      gsi1sk: session.sessionId,
      gsi2pk: tenantPartition(session.tenantId),
      gsi2sk: `${session.createdAt}#${session.sessionId}`,
      ...session,
    };
    return this.table.put(item, { ConditionExpression: 'attribute_not_exists(pk)' });
  }

  async delete(sessionId: string): Promise<void> {
    await this.table.delete(sessionKey(sessionId));
  }

  async setDesiredState(
    sessionId: string,
    desiredState: DesiredState,
    now: string,
  ): Promise<Session | undefined> {
    return entityOf<Session>(
      await this.table.update(sessionKey(sessionId), {
        UpdateExpression: 'SET desiredState = :d, updatedAt = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':d': desiredState, ':now': now },
      }),
    );
  }

  async transition(sessionId: string, t: SessionTransition): Promise<Session | undefined> {
    const from = allowedPredecessors(t.to).filter((s) => !t.from || t.from.includes(s));
    const patch = updateExpression({ ...t.fields, status: t.to, updatedAt: t.now, fence: t.fence });
    const fromValues = Object.fromEntries(from.map((s, i) => [`:from${i}`, s]));
    const conditions = [
      'attribute_exists(pk)',
      `#status IN (${Object.keys(fromValues).join(', ')})`,
      ...(t.fence === undefined ? [] : [FENCE_OK]),
    ];
    return entityOf<Session>(
      await this.table.update(sessionKey(sessionId), {
        UpdateExpression: [
          `SET ${patch.set.join(', ')}`,
          patch.remove.length ? `REMOVE ${patch.remove.join(', ')}` : '',
        ]
          .join(' ')
          .trim(),
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: { ...patch.names, '#status': 'status' },
        ExpressionAttributeValues: {
          ...patch.values,
          ...fromValues,
          ...(t.fence !== undefined && { ':fence': t.fence }),
        },
      }),
    );
  }

  async touch(
    sessionId: string,
    fence: number,
    now: string,
    listing?: Pick<Session, 'tenantId' | 'createdAt'>,
    reconnecting?: boolean,
  ): Promise<boolean> {
    const listed = listing && {
      ':g2pk': tenantPartition(listing.tenantId),
      ':g2sk': `${listing.createdAt}#${sessionId}`,
    };
    const stamp = `SET runnerSeenAt = :now, fence = :fence${
      listed ? ', gsi2pk = if_not_exists(gsi2pk, :g2pk), gsi2sk = if_not_exists(gsi2sk, :g2sk)' : ''
    }`;
    const condition = `attribute_exists(pk) AND ${FENCE_OK}`;
    const values = { ':now': now, ':fence': fence, ...listed };
    if (reconnecting) {
      // One write in the usual case; only a session that left CONNECTED / QR_READY meanwhile costs
      // a second, plain stamp (an update cannot set the status on a condition of its own). The
      // previous owner's QR and pairing code belong to its socket: removed with it.
      const shown = await this.table.update(sessionKey(sessionId), {
        UpdateExpression: `${stamp}, #status = :connecting, updatedAt = :now REMOVE #qr, #qrExpiresAt, #pairingCode`,
        ConditionExpression: `${condition} AND #status IN (:connected, :qrReady)`,
        ExpressionAttributeNames: {
          '#status': 'status',
          '#qr': 'qr',
          '#qrExpiresAt': 'qrExpiresAt',
          '#pairingCode': 'pairingCode',
        },
        ExpressionAttributeValues: {
          ...values,
          ':connecting': 'CONNECTING',
          ':connected': 'CONNECTED',
          ':qrReady': 'QR_READY',
        },
      });
      if (shown) return true;
    }
    const updated = await this.table.update(sessionKey(sessionId), {
      UpdateExpression: stamp,
      ConditionExpression: condition,
      ExpressionAttributeValues: values,
    });
    return updated !== undefined;
  }

  async listByShard(shard: number): Promise<Session[]> {
    const items = await this.table.queryAll({
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :shard',
      ExpressionAttributeValues: { ':shard': shardKey(shard) },
    });
    return items.map((item) => entityOf<Session>(item) as Session);
  }

  async listByTenant(tenantId: string, page: PageRequest): Promise<Page<Session>> {
    return queryPage<Session>(
      this.table,
      { index: 'gsi2', partition: tenantPartition(tenantId), pkPrefix: 'SESSION#' },
      page,
    );
  }
}
