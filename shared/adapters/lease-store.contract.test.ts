import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeaseStore } from '../ports/lease-store.ts';
import { provisionTestAws, type TestAws } from '../testing/aws-test-env.ts';
import { InMemoryLeaseStore } from '../testing/in-memory-lease-store.ts';
import { DynamoLeaseStore } from './dynamodb-lease-store.ts';
import { DynamoTable } from './dynamodb-table.ts';

let aws: TestAws;
beforeAll(async () => {
  aws = await provisionTestAws();
});
afterAll(() => aws?.destroy());

describe.each([
  ['in-memory fake', () => new InMemoryLeaseStore()],
  [
    'DynamoDB on DynamoDB Local',
    () => new DynamoLeaseStore(new DynamoTable(aws.clients.dynamo, aws.env.LEASES_TABLE as string)),
  ],
])('lease store contract: %s', (_name, make: () => LeaseStore) => {
  let store: LeaseStore;
  let shard = 100;
  beforeAll(() => {
    store = make();
  });
  const next = () => shard++;

  it('grants a free shard to one owner at a time', async () => {
    const s = next();
    const a = await store.acquire(s, 'runner-a', 1_000, 10_000);
    expect(a).toEqual({ shard: s, owner: 'runner-a', fence: 1, expiresAt: 11_000 });
    expect(await store.acquire(s, 'runner-b', 5_000, 10_000)).toBeUndefined();
    expect(await store.get(s)).toEqual(a);
  });

  it('gives an expired shard to the next owner with a higher fence, and the old owner cannot renew', async () => {
    const s = next();
    const a = (await store.acquire(s, 'runner-a', 1_000, 10_000)) as NonNullable<
      Awaited<ReturnType<LeaseStore['acquire']>>
    >;
    const b = await store.acquire(s, 'runner-b', 11_000, 10_000);
    expect(b).toMatchObject({ owner: 'runner-b', fence: 2 });
    expect(await store.renew(a, 11_500, 10_000)).toBeUndefined();
  });

  it('renews a held lease, and not one that expired before the renewal', async () => {
    const s = next();
    const a = (await store.acquire(s, 'runner-a', 1_000, 10_000)) as NonNullable<
      Awaited<ReturnType<LeaseStore['acquire']>>
    >;
    expect(await store.renew(a, 5_000, 10_000)).toMatchObject({ fence: 1, expiresAt: 15_000 });
    expect(await store.renew(a, 15_000, 10_000)).toBeUndefined();
  });

  it('frees a released shard at once, and a stale release does nothing', async () => {
    const s = next();
    const a = (await store.acquire(s, 'runner-a', 1_000, 10_000)) as NonNullable<
      Awaited<ReturnType<LeaseStore['acquire']>>
    >;
    await store.release(a);
    const b = (await store.acquire(s, 'runner-b', 2_000, 10_000)) as NonNullable<
      Awaited<ReturnType<LeaseStore['acquire']>>
    >;
    expect(b.fence).toBe(2);
    await store.release(a);
    expect(await store.acquire(s, 'runner-c', 3_000, 10_000)).toBeUndefined();
  });
});
