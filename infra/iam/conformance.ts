import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { CallResource, IamRequest, RecordedCall } from '#shared/adapters/aws-call-recorder.ts';
import { deadLetterName } from '#shared/adapters/queue-definitions.ts';
import { TABLES, type TableKey } from '#shared/adapters/table-definitions.ts';
import type { GatewayStacks } from '../gateway.ts';
import { type Decision, evaluate, type PolicyStatement } from './policy-evaluator.ts';
import { arnOf, type CfnTemplate, TemplateResolver } from './template-resolver.ts';

/**
 * The IAM conformance check: every AWS call a component made in the tests (recorded by
 * shared/adapters/aws-call-recorder.ts) is evaluated against the policies the synthesized
 * templates give that component's role. The templates are the source of truth.
 */

export interface Refusal {
  component: string;
  action: string;
  /** The resource as the test saw it (local table, queue URL, bucket/key). */
  resource: string;
  arn: string;
  decision: Decision | 'unknownComponent';
}

/** Where a deployed component's permissions and resources are, by construct. */
export interface GatewayModel {
  templates: { stateful: CfnTemplate; stateless: CfnTemplate };
  /** component name → role logical id in the stateless template. */
  roles: Map<string, string>;
  tables: Record<TableKey, string>;
  /** queue name of the queue definitions (`commands-0`, `commands-0-dlq`, …) → logical id. */
  queues: Map<string, string>;
  buckets: string[];
}

const logicalId = (construct: IConstruct): string =>
  Stack.of(construct).getLogicalId(construct.node.defaultChild as CfnElement);

/** The model of synthesized gateway stacks (their templates and which role each component has). */
export const gatewayModel = (
  stacks: GatewayStacks,
  templates: { stateful: CfnTemplate; stateless: CfnTemplate },
): GatewayModel => {
  const { stateful, stateless } = stacks;
  const roles = new Map<string, string>([
    ['authorizer', logicalId(stateless.httpApi.authorizer.role)],
    ['ai', logicalId(stateless.aiWorker.handler.role)],
    ['runner', logicalId(stateless.runner.taskRole)],
    ['webhook-fanout', logicalId(stateless.webhooks.fanout.role)],
    ['webhook-delivery', logicalId(stateless.webhooks.delivery.role)],
    ...[...stateless.httpApi.routeFunctions].map(
      ([id, fn]) => [`route:${id}`, logicalId(fn.role)] as [string, string],
    ),
  ]);
  const queues = new Map<string, string>();
  for (const pair of [...stateful.queues.commands, stateful.queues.incoming, stateful.webhookQueues.pair]) {
    queues.set(pair.definition.name, logicalId(pair.queue));
    queues.set(deadLetterName(pair.definition), logicalId(pair.deadLetterQueue));
  }
  return {
    templates,
    roles,
    tables: Object.fromEntries(
      (Object.keys(TABLES) as TableKey[]).map((key) => [key, logicalId(stateful.tables.byKey[key])]),
    ) as Record<TableKey, string>,
    queues,
    buckets: [logicalId(stateful.authState.bucket)],
  };
};

/** Every statement of the identity policies attached to a role: inline, `AWS::IAM::Policy`, managed. */
export const roleStatements = (model: GatewayModel, roleId: string): PolicyStatement[] => {
  const { stateless, stateful } = model.templates;
  const resolver = new TemplateResolver([stateful, stateless]);
  const resolved = (statement: Record<string, unknown>, template: CfnTemplate): PolicyStatement => {
    const out: Record<string, unknown> = { ...statement };
    for (const key of ['Action', 'NotAction', 'Resource', 'NotResource'] as const) {
      if (statement[key] !== undefined) out[key] = resolver.resolveAll(statement[key], template);
    }
    return out as unknown as PolicyStatement;
  };
  const documentStatements = (document: unknown, template: CfnTemplate) =>
    ((document as { Statement?: Record<string, unknown>[] } | undefined)?.Statement ?? []).map((s) =>
      resolved(s, template),
    );

  const role = stateless.Resources[roleId];
  if (!role) throw new Error(`no role ${roleId} in the template`);
  const statements: PolicyStatement[] = [];
  for (const inline of (role.Properties?.Policies ?? []) as { PolicyDocument: unknown }[]) {
    statements.push(...documentStatements(inline.PolicyDocument, stateless));
  }
  for (const resource of Object.values(stateless.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const attached = ((resource.Properties?.Roles ?? []) as unknown[]).some(
      (r) => (r as { Ref?: string }).Ref === roleId,
    );
    if (attached) statements.push(...documentStatements(resource.Properties?.PolicyDocument, stateless));
  }
  for (const arn of (role.Properties?.ManagedPolicyArns ?? []) as unknown[]) {
    const target = resolver.target(arn, stateless);
    const policy = target?.template.Resources[target.logicalId];
    // AWS managed policies (none on the checked roles) are not in the template: skipped.
    if (policy?.Type === 'AWS::IAM::ManagedPolicy') {
      statements.push(
        ...documentStatements(policy.Properties?.PolicyDocument, target?.template as CfnTemplate),
      );
    }
  }
  return statements;
};

const byNameSuffix = <T>(entries: [string, T][], name: string): T | undefined =>
  // Longest first, so `commands-0-dlq` wins over `commands-0`; local names carry a random prefix.
  [...entries]
    .sort(([a], [b]) => b.length - a.length)
    .find(([suffix]) => name === suffix || name.endsWith(`-${suffix}`))?.[1];

/** The fake ARN of a locally recorded resource, through the logical resource it stands for. */
export const arnOfRecorded = (model: GatewayModel, resource: CallResource): string => {
  if ('table' in resource) {
    const key = byNameSuffix(
      (Object.keys(TABLES) as TableKey[]).map((k) => [TABLES[k].id, k] as [string, TableKey]),
      resource.table,
    );
    const table = arnOf('AWS::DynamoDB::Table', key ? model.tables[key] : `unknown-${resource.table}`);
    return resource.index ? `${table}/index/${resource.index}` : table;
  }
  if ('queueUrl' in resource || 'queueName' in resource) {
    const raw = 'queueUrl' in resource ? (resource.queueUrl.split('/').pop() ?? '') : resource.queueName;
    const name = raw.replace(/\.fifo$/, '');
    const id = byNameSuffix([...model.queues], name);
    return arnOf('AWS::SQS::Queue', id ?? `unknown-${name}`);
  }
  // One bucket in the app: every local bucket stands for it.
  const bucket = arnOf('AWS::S3::Bucket', model.buckets[0] ?? 'unknown');
  return resource.key === undefined ? bucket : `${bucket}/${resource.key}`;
};

const describe = (resource: CallResource): string =>
  'table' in resource
    ? `table ${resource.table}${resource.index ? ` index ${resource.index}` : ''}`
    : 'queueUrl' in resource
      ? `queue ${resource.queueUrl}`
      : 'queueName' in resource
        ? `queue ${resource.queueName}`
        : `s3://${resource.bucket}${resource.key === undefined ? '' : `/${resource.key}`}`;

/** Every recorded request the component's deployed role would refuse (each distinct one once). */
export const checkCalls = (model: GatewayModel, calls: RecordedCall[]): Refusal[] => {
  const statementsOf = new Map<string, PolicyStatement[]>();
  const seen = new Set<string>();
  const refusals: Refusal[] = [];
  for (const call of calls) {
    for (const request of call.requests as IamRequest[]) {
      const arn = arnOfRecorded(model, request.resource);
      const key = `${call.component}|${request.action}|${arn}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const roleId = model.roles.get(call.component);
      if (!roleId) {
        refusals.push({ ...base(call, request, arn), decision: 'unknownComponent' });
        continue;
      }
      let statements = statementsOf.get(roleId);
      if (!statements) {
        statements = roleStatements(model, roleId);
        statementsOf.set(roleId, statements);
      }
      const decision = evaluate(statements, request.action, arn);
      if (decision !== 'allowed') refusals.push({ ...base(call, request, arn), decision });
    }
  }
  return refusals;
};

const base = (call: RecordedCall, request: IamRequest, arn: string) => ({
  component: call.component,
  action: request.action,
  resource: describe(request.resource),
  arn,
});

/** One line per refusal: component, action, resource. */
export const formatRefusals = (refusals: Refusal[]): string =>
  refusals
    .map((r) => `${r.component}: ${r.action} on ${r.resource} (${r.arn}) refused (${r.decision})`)
    .join('\n');
