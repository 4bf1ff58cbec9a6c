import { createAwsClients } from '#shared/adapters/aws-clients.ts';
import { DynamoConversationStore } from '#shared/adapters/dynamodb-conversation-store.ts';
import { DynamoMessageStore } from '#shared/adapters/dynamodb-message-store.ts';
import { DynamoSessionStore } from '#shared/adapters/dynamodb-session-store.ts';
import { DynamoTable } from '#shared/adapters/dynamodb-table.ts';
import { DynamoUsageStore } from '#shared/adapters/dynamodb-usage-store.ts';
import { ApiEnv, loadConfig } from '#shared/config.ts';
import type { ReadDeps } from '#shared/use-cases/read-api.ts';

// The read routes' ports, built once per container from the tenant API's configuration.
// TODO(lead): fold into functions/composition-root.ts (GatewayDeps + conversations + usage) so
// these routes share its DynamoDB client instead of building a second one.

let deps: ReadDeps | undefined;

export const readDeps = (): ReadDeps => {
  if (!deps) {
    const config = loadConfig(ApiEnv);
    const { dynamo } = createAwsClients(config);
    deps = {
      sessions: new DynamoSessionStore(new DynamoTable(dynamo, config.SESSIONS_TABLE)),
      messages: new DynamoMessageStore(new DynamoTable(dynamo, config.MESSAGES_TABLE)),
      conversations: new DynamoConversationStore(dynamo, {
        messages: config.MESSAGES_TABLE,
        usage: config.USAGE_TABLE,
      }),
      usage: new DynamoUsageStore(new DynamoTable(dynamo, config.USAGE_TABLE)),
    };
  }
  return deps;
};
