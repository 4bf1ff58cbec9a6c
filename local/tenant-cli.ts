import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createAwsClients } from '#shared/adapters/aws-clients.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { AuthorizerEnv, loadConfig } from '#shared/config.ts';
import { AppError } from '#shared/errors.ts';
import { systemClock } from '#shared/ports/clock.ts';
import {
  createTenant,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
  setTenantDisabled,
} from '#shared/use-cases/tenants.ts';
import { readStackState } from './stack-files.ts';
import { startDynamoDbLocal } from './stand-ins/dynamodb-local.ts';
import { provisionTables } from './stand-ins/provision.ts';

// `npm run tenant -- <command>`: tenants and their API keys.
// Against AWS when TENANTS_TABLE is set (and no DYNAMODB_ENDPOINT); otherwise against the local
// stack's data: through the running stack, or by opening DATA_DIR's DynamoDB Local for a moment.

const USAGE = `usage: npm run tenant -- <command>
  create <name>             a tenant and its first API key (shown once)
  add-key <tenantId>        another key for the tenant (rotation; shown once)
  revoke-key <apiKey>       the key stops working at once
  list                      every tenant
  keys <tenantId>           the tenant's keys: prefixes and creation dates, never the key
  disable <tenantId>        every key of the tenant answers 401 until enabled
  enable <tenantId>
Local data: the stack running in DATA_DIR (default .data); set DATA_DIR to reach another folder.
AWS: set TENANTS_TABLE (and AWS credentials).`;

class UsageError extends Error {}

const DEFAULT_DATA_DIR = '.data';

/**
 * Where the local tenants are. Without DATA_DIR only a stack running in ./.data is used: writing
 * into a folder no stack reads (the stack may run with another DATA_DIR) would make keys that
 * never work, so that is refused; an explicit DATA_DIR may be opened while its stack is stopped.
 */
const localTarget = async (
  env: NodeJS.ProcessEnv,
): Promise<{ env: Record<string, string | undefined>; stop?: () => Promise<void> }> => {
  const dataDir = env.DATA_DIR || DEFAULT_DATA_DIR;
  const running = readStackState(dataDir);
  if (running) return { env: running.env };
  if (!env.DATA_DIR) {
    throw new UsageError(
      `No local stack is running in ${DEFAULT_DATA_DIR}. Set DATA_DIR to the data folder of the stack ` +
        `you mean (the one given to npm start), e.g. DATA_DIR=${DEFAULT_DATA_DIR} npm run tenant -- …; ` +
        'with DATA_DIR set, a stopped stack’s data is changed directly.',
    );
  }
  const dynamo = await startDynamoDbLocal({ dbPath: join(dataDir, 'dynamodb') });
  const admin = new DynamoDBClient({ endpoint: dynamo.endpoint });
  try {
    return {
      env: { DYNAMODB_ENDPOINT: dynamo.endpoint, ...(await provisionTables(admin, 'local')) },
      stop: dynamo.stop,
    };
  } catch (error) {
    await dynamo.stop();
    throw error;
  } finally {
    admin.destroy();
  }
};

const withTenantStore = async <T>(run: (tenants: DynamoTenantStore) => Promise<T>): Promise<T> => {
  let target: { env: Record<string, string | undefined>; stop?: () => Promise<void> } = { env: process.env };
  if (!process.env.TENANTS_TABLE) {
    process.env.AWS_ACCESS_KEY_ID ??= 'local';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
    process.env.AWS_REGION ??= 'us-east-1';
    target = await localTarget(process.env);
  }
  try {
    const config = loadConfig(AuthorizerEnv, target.env);
    const clients = createAwsClients(config);
    try {
      return await run(new DynamoTenantStore(new DynamoTable(clients.dynamo, config.TENANTS_TABLE)));
    } finally {
      clients.dynamo.destroy();
    }
  } finally {
    await target.stop?.();
  }
};

const main = async (args: string[]) => {
  const [command, value, ...extra] = args;
  const needsValue = command !== 'list';
  if (!command || extra.length > 0 || (needsValue ? !value : value)) throw new UsageError(USAGE);
  const arg = value as string;
  const clock = systemClock;
  const result = await withTenantStore(async (tenants) => {
    switch (command) {
      case 'create': {
        const { tenant, apiKey } = await createTenant({ tenants, clock }, arg);
        return { tenantId: tenant.tenantId, name: tenant.name, apiKey };
      }
      case 'add-key':
        return { tenantId: arg, apiKey: await rotateApiKey({ tenants, clock }, arg) };
      case 'revoke-key':
        await revokeApiKey({ tenants }, arg);
        return { revoked: true };
      case 'list':
        return (await tenants.list()).map((t) => ({
          tenantId: t.tenantId,
          name: t.name,
          createdAt: t.createdAt,
          disabled: t.disabled ?? false,
        }));
      case 'keys':
        return (await listApiKeys({ tenants }, arg)).map((k) => ({
          prefix: k.prefix ?? '(made before prefixes were kept)',
          createdAt: k.createdAt,
        }));
      case 'disable':
      case 'enable': {
        const tenant = await setTenantDisabled({ tenants, clock }, arg, command === 'disable');
        return { tenantId: tenant.tenantId, disabled: tenant.disabled };
      }
      default:
        throw new UsageError(USAGE);
    }
  });
  console.log(JSON.stringify(result, null, 2));
};

main(process.argv.slice(2)).catch((error) => {
  // An AppError's message is written for people; anything else may carry detail worth seeing too.
  const message = error instanceof AppError || error instanceof Error ? error.message : String(error);
  console.error(error instanceof AppError ? `error: ${message} (${error.code})` : message);
  process.exit(1);
});
