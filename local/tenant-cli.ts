import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createAwsClients } from '#shared/adapters/aws-clients.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoTenantStore } from '#shared/adapters/dynamodb-tenant-store.ts';
import { AuthorizerEnv, loadConfig } from '#shared/config.ts';
import { hashApiKey } from '#shared/domain/ids.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { createTenant, rotateApiKey } from '#shared/use-cases/tenants.ts';
import { readStackState } from './stack-files.ts';
import { startDynamoDbLocal } from './stand-ins/dynamodb-local.ts';
import { provisionTables } from './stand-ins/provision.ts';

// `npm run tenant -- create <name> | add-key <tenantId> | revoke-key <apiKey>`
// Against AWS when TENANTS_TABLE is set (and no DYNAMODB_ENDPOINT); otherwise against the local
// stack's data: through the running stack, or by opening DATA_DIR's DynamoDB Local for a moment.

const USAGE = 'usage: npm run tenant -- create <name> | add-key <tenantId> | revoke-key <apiKey>';

const withTenantStore = async <T>(run: (tenants: DynamoTenantStore) => Promise<T>): Promise<T> => {
  const dataDir = process.env.DATA_DIR ?? '.data';
  const running = readStackState(dataDir);
  let stopLocal: (() => Promise<void>) | undefined;
  let env: Record<string, string | undefined> = process.env;
  if (!process.env.TENANTS_TABLE) {
    process.env.AWS_ACCESS_KEY_ID ??= 'local';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
    process.env.AWS_REGION ??= 'us-east-1';
    if (running) {
      env = running.env;
    } else {
      const dynamo = await startDynamoDbLocal({ dbPath: join(dataDir, 'dynamodb') });
      stopLocal = dynamo.stop;
      const admin = new DynamoDBClient({ endpoint: dynamo.endpoint });
      env = { DYNAMODB_ENDPOINT: dynamo.endpoint, ...(await provisionTables(admin, 'local')) };
      admin.destroy();
    }
  }
  const config = loadConfig(AuthorizerEnv, env);
  const clients = createAwsClients(config);
  try {
    return await run(new DynamoTenantStore(new DynamoTable(clients.dynamo, config.TENANTS_TABLE)));
  } finally {
    clients.dynamo.destroy();
    await stopLocal?.();
  }
};

const main = async (args: string[]) => {
  const [command, value] = args;
  if (!value) throw new Error(USAGE);
  const result = await withTenantStore(async (tenants) => {
    switch (command) {
      case 'create': {
        const { tenant, apiKey } = await createTenant({ tenants, clock: systemClock }, value);
        return { tenantId: tenant.tenantId, name: tenant.name, apiKey };
      }
      case 'add-key': {
        if (!(await tenants.get(value))) throw new Error(`No tenant ${value}`);
        return { tenantId: value, apiKey: await rotateApiKey({ tenants }, value) };
      }
      case 'revoke-key':
        await tenants.revokeApiKey(hashApiKey(value));
        return { revoked: true };
      default:
        throw new Error(USAGE);
    }
  });
  console.log(JSON.stringify(result, null, 2));
};

main(process.argv.slice(2)).catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
