import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVENT_SOURCE_TABLES } from '#shared/adapters/dynamodb-stream-changes.ts';
import { TABLES } from '#shared/adapters/table-definitions.ts';
import { type SynthesizedGateway, synthGateway } from '../test-support.ts';

let gateway: SynthesizedGateway;
beforeAll(() => {
  gateway = synthGateway({ stage: 'dev' });
});

type Resource = { Type: string; Properties: Record<string, unknown> };
const resources = (template: SynthesizedGateway['statefulTemplate'], type: string) =>
  Object.values(template.toJSON().Resources as Record<string, Resource>).filter((r) => r.Type === type);

describe('webhooks infrastructure', () => {
  it('streams old and new images of exactly the sessions and messages tables', () => {
    const streamed = resources(gateway.statefulTemplate, 'AWS::DynamoDB::Table').filter(
      (t) => (t.Properties.StreamSpecification as { StreamViewType?: string } | undefined)?.StreamViewType,
    );
    expect(streamed).toHaveLength(EVENT_SOURCE_TABLES.length);
    for (const t of streamed) {
      expect(t.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    }
    expect(EVENT_SOURCE_TABLES.map((k) => TABLES[k].id)).toEqual(['Sessions', 'Messages']);
  });

  it('declares webhook-deliveries.fifo with a high receive count, 14 days retention and its DLQ', () => {
    gateway.statefulTemplate.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'wa-dev-webhook-deliveries.fifo',
      FifoQueue: true,
      MessageRetentionPeriod: 14 * 86_400,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 1000 },
    });
    gateway.statefulTemplate.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'wa-dev-webhook-deliveries-dlq.fifo',
    });
  });

  it('feeds the fan-out from both streams and the delivery from the queue, with partial batch failures', () => {
    const mappings = resources(gateway.statelessTemplate, 'AWS::Lambda::EventSourceMapping');
    const streams = mappings.filter((m) => m.Properties.StartingPosition === 'TRIM_HORIZON');
    expect(streams).toHaveLength(2);
    for (const m of streams) expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const sqs = mappings.filter((m) => JSON.stringify(m.Properties.EventSourceArn).includes('WebhookQueues'));
    expect(sqs).toHaveLength(1);
    expect(sqs[0]?.Properties).toMatchObject({
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('lets the delivery change visibility and dead-letter, and never call loopback', () => {
    const fn = gateway.stateless.webhooks.delivery;
    const policy = resources(gateway.statelessTemplate, 'AWS::IAM::Policy').find((p) =>
      JSON.stringify(p.Properties.Roles).includes(
        gateway.stateless.getLogicalId(fn.role.node.defaultChild as never),
      ),
    );
    const actions = JSON.stringify(policy?.Properties.PolicyDocument);
    expect(actions).toContain('sqs:ChangeMessageVisibility');
    expect(actions).toContain('sqs:SendMessage');
    expect(actions).toContain('dynamodb:UpdateItem');
    gateway.statelessTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'WhatsApp gateway: signed webhook deliveries with retries',
      Environment: { Variables: Match.objectLike({ WEBHOOK_ALLOW_LOOPBACK: 'false' }) },
    });
  });

  it("gives the delivery its settle window and lets it query the Webhooks table's indexes (a group's pending deliveries)", () => {
    gateway.statelessTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'WhatsApp gateway: signed webhook deliveries with retries',
      Environment: { Variables: Match.objectLike({ WEBHOOK_SETTLE_MS: '2000' }) },
    });
    const fn = gateway.stateless.webhooks.delivery;
    const policy = resources(gateway.statelessTemplate, 'AWS::IAM::Policy').find((p) =>
      JSON.stringify(p.Properties.Roles).includes(
        gateway.stateless.getLogicalId(fn.role.node.defaultChild as never),
      ),
    );
    const document = JSON.stringify(policy?.Properties.PolicyDocument);
    expect(document).toContain('dynamodb:Query');
    expect(document).toContain('/index/gsi2');
  });

  it('alarms on given-up deliveries, dead letters and a lagging fan-out', () => {
    const alarms = resources(gateway.statelessTemplate, 'AWS::CloudWatch::Alarm').map((a) =>
      String(a.Properties.AlarmDescription),
    );
    expect(alarms.filter((d) => d.includes('Webhook deliveries given up'))).toHaveLength(1);
    expect(alarms.filter((d) => d.includes('webhook-deliveries dead-letter'))).toHaveLength(1);
    expect(alarms.filter((d) => d.includes('webhook fan-out lags'))).toHaveLength(1);
  });
});
