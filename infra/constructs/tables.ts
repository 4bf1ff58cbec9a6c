import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { EVENT_SOURCE_TABLES } from '#shared/adapters/dynamodb-stream-changes.ts';
import { TABLES, type TableDefinition, type TableKey } from '#shared/adapters/table-definitions.ts';

/** Tables whose changes become events to tenants stream old and new images (webhook fan-out). */
const STREAMED = new Set<string>(EVENT_SOURCE_TABLES.map((key) => TABLES[key].id));

export interface GatewayTablesProps {
  removalPolicy: RemovalPolicy;
}

/**
 * Every DynamoDB table of TABLES, declared from the same data the local stack uses: on-demand,
 * point-in-time recovery, TTL where the definition has one, generated names.
 */
export class GatewayTables extends Construct {
  readonly byKey: Record<TableKey, Table>;

  constructor(scope: Construct, id: string, props: GatewayTablesProps) {
    super(scope, id);
    const entries = Object.entries(TABLES) as [TableKey, TableDefinition][];
    this.byKey = Object.fromEntries(
      entries.map(([key, definition]) => [key, this.declare(definition, props.removalPolicy)]),
    ) as Record<TableKey, Table>;
  }

  private declare(definition: TableDefinition, removalPolicy: RemovalPolicy): Table {
    const table = new Table(this, definition.id, {
      partitionKey: { name: definition.partitionKey, type: AttributeType.STRING },
      sortKey: definition.sortKey ? { name: definition.sortKey, type: AttributeType.STRING } : undefined,
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: definition.ttlAttribute,
      ...(STREAMED.has(definition.id) && { stream: StreamViewType.NEW_AND_OLD_IMAGES }),
      encryption: TableEncryption.AWS_MANAGED,
      // A retained table is also protected against a console or CLI delete.
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    for (const index of definition.indexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        projectionType: index.projection === 'KEYS_ONLY' ? ProjectionType.KEYS_ONLY : ProjectionType.ALL,
      });
    }
    return table;
  }
}
