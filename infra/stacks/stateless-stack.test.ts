import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { routeEnv } from '#functions/http/route-env.ts';
import { AUTHORIZER_ENTRY, ROUTE, ROUTES } from '#functions/http/routes.ts';
import { INCOMING_QUEUE } from '#shared/adapters/queue-definitions.ts';
import { TABLES, type TableKey } from '#shared/adapters/table-definitions.ts';
import { AiEnv, AuthorizerEnv, RunnerEnv } from '#shared/config.ts';
import { WebhookDeliveryEnv, WebhookFanoutEnv } from '#shared/webhook-config.ts';
import type { AppFunction } from '../constructs/app-function.ts';
import { TABLE_READ_ACTIONS, TABLE_WRITE_ACTIONS } from '../constructs/bindings.ts';
import { RUNNER_METRICS } from '../constructs/observability.ts';
import { RUNNER_STOP_TIMEOUT } from '../constructs/session-runner-service.ts';
import {
  deployedEnvKeys,
  LOCAL_ONLY_ENV_KEYS,
  METRICS_NAMESPACE,
  RUNTIME_EXTRA_ENV_KEYS,
} from '../runtime-env.ts';
import { type SynthesizedGateway, synthGateway } from '../test-support.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
type Json = any;

let base: SynthesizedGateway;
let custom: SynthesizedGateway;

beforeAll(() => {
  // cdk-nag runs on these stages in nag.test.ts.
  base = synthGateway({ stage: 'dev', shardCount: 2 }, { nag: false });
  custom = synthGateway(
    {
      stage: 'prod',
      shardCount: 4,
      runnerCount: 2,
      runnerCpu: 2048,
      runnerMemoryMiB: 8192,
      runnerArchitecture: 'x86_64',
      vpc: { mode: 'private-nat', cidr: '10.9.0.0/16', natGateways: 2 },
      aiModel: 'us.amazon.nova-pro-v1:0',
      aiExtraModels: ['anthropic.claude-3-haiku-20240307-v1:0'],
      openAiBaseUrl: 'https://llm.example.com/v1',
      openAiApiKeySecret: 'wa-gateway/openai-key',
      alarmEmail: 'oncall@example.com',
      whatsappVersion: '2.3000.1023223821',
      logRetentionDays: 90,
      removalPolicy: 'destroy',
    },
    { nag: false },
  );
});

const resources = (g: SynthesizedGateway): Record<string, Json> => g.statelessTemplate.toJSON().Resources;
const idOf = (g: SynthesizedGateway, construct: { node: { defaultChild?: unknown } }) =>
  g.stateless.getLogicalId(construct.node.defaultChild as never);
const statefulIdOf = (g: SynthesizedGateway, construct: { node: { defaultChild?: unknown } }) =>
  g.stateful.getLogicalId(construct.node.defaultChild as never);

/** Every AppFunction of the stack, by a readable name, with the schema its code parses. */
const appFunctions = (g: SynthesizedGateway) => [
  { name: 'Authorizer', fn: g.stateless.httpApi.authorizer, schema: AuthorizerEnv },
  ...[...g.stateless.httpApi.routeFunctions].map(([name, fn]) => ({
    name,
    fn,
    schema: routeEnv(ROUTE[name as keyof typeof ROUTE]),
  })),
  { name: 'IncomingAi', fn: g.stateless.aiWorker.handler, schema: AiEnv },
  { name: 'WebhookFanout', fn: g.stateless.webhooks.fanout, schema: WebhookFanoutEnv },
  { name: 'WebhookDelivery', fn: g.stateless.webhooks.delivery, schema: WebhookDeliveryEnv },
];
const lambdaOf = (g: SynthesizedGateway, fn: AppFunction): Json => resources(g)[idOf(g, fn.function)];

/**
 * What a reference in the stateless template points at in the stateful one: `table:Tenants`,
 * `queue:Commands0`, … (cross-stack references are imports whose export names carry the logical id).
 */
const describeRef = (g: SynthesizedGateway, value: Json): string => {
  const text = JSON.stringify(value);
  const named: [string, string][] = [
    ...(Object.keys(TABLES) as TableKey[]).map(
      (k) => [statefulIdOf(g, g.stateful.tables.byKey[k]), `table:${TABLES[k].id}`] as [string, string],
    ),
    ...g.stateful.queues.all.flatMap((pair) => [
      [statefulIdOf(g, pair.queue), `queue:${pair.queue.node.id}`] as [string, string],
      [statefulIdOf(g, pair.deadLetterQueue), `dlq:${pair.queue.node.id}`] as [string, string],
    ]),
    [statefulIdOf(g, g.stateful.webhookQueues.pair.queue), 'queue:WebhookDeliveries'],
    [statefulIdOf(g, g.stateful.webhookQueues.pair.deadLetterQueue), 'dlq:WebhookDeliveries'],
    [statefulIdOf(g, g.stateful.authState.bucket), 'bucket:AuthState'],
  ];
  const hit = named.find(([logicalId]) => text.includes(`Output`) && text.includes(logicalId));
  if (!hit) throw new Error(`unrecognized reference ${text}`);
  return `${hit[1]}${text.includes('/index/') ? `/index/${text.split('/index/')[1]?.split('"')[0]}` : ''}`;
};

/** The statements of a role's inline policies, with resources described. */
const grantsOf = (g: SynthesizedGateway, roleLogicalId: string) => {
  const statements: { actions: string[]; resources: string[] }[] = [];
  for (const policy of Object.values(resources(g)).filter(
    (r: Json) => r.Type === 'AWS::IAM::Policy',
  ) as Json[]) {
    if (!policy.Properties.Roles.some((r: Json) => r.Ref === roleLogicalId)) continue;
    for (const s of policy.Properties.PolicyDocument.Statement) {
      const list = (v: Json) => (Array.isArray(v) ? v : [v]);
      statements.push({
        actions: list(s.Action).sort(),
        resources: list(s.Resource).map((r: Json) =>
          typeof r === 'string'
            ? r
            : JSON.stringify(r).includes('ImportValue')
              ? describeRef(g, r)
              : JSON.stringify(r),
        ),
      });
    }
  }
  return statements;
};
const actionsOn = (statements: { actions: string[]; resources: string[] }[], resource: string) =>
  statements
    .filter((s) => s.resources.includes(resource))
    .flatMap((s) => s.actions)
    .sort();

const READ = [...TABLE_READ_ACTIONS].sort();
const READ_WRITE = [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS].sort();
const SEND = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
const CONSUME = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];

describe('HTTP API', () => {
  it('has one route per entry of ROUTES, each behind the Lambda authorizer and with its own function', () => {
    const routes = Object.values(base.statelessTemplate.findResources('AWS::ApiGatewayV2::Route')) as Json[];
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(
      ROUTES.map((r) => `${r.method} ${r.path}`).sort(),
    );
    const authorizerId = Object.keys(
      base.statelessTemplate.findResources('AWS::ApiGatewayV2::Authorizer'),
    )[0];
    for (const route of routes) {
      expect(route.Properties.AuthorizationType).toBe('CUSTOM');
      expect(route.Properties.AuthorizerId).toEqual({ Ref: authorizerId });
    }
    const integrations = Object.values(
      base.statelessTemplate.findResources('AWS::ApiGatewayV2::Integration'),
    ) as Json[];
    const targets = new Set(integrations.map((i) => JSON.stringify(i.Properties.IntegrationUri)));
    expect(targets.size).toBe(ROUTES.length);
    for (const route of ROUTES) {
      const fn = base.stateless.httpApi.routeFunctions.get(route.id);
      expect(fn, route.id).toBeDefined();
      expect(lambdaOf(base, fn as AppFunction).Properties.Description).toContain(
        `${route.method} ${route.path}`,
      );
    }
  });

  it('runs the authorizer on every request with a key: simple responses, x-api-key identity source, no cache', () => {
    base.statelessTemplate.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      AuthorizerPayloadFormatVersion: '2.0',
      IdentitySource: ['$request.header.x-api-key'],
      AuthorizerResultTtlInSeconds: 0,
      AuthorizerUri: Match.objectLike({
        'Fn::Join': [
          '',
          Match.arrayWith([
            { 'Fn::GetAtt': [idOf(base, base.stateless.httpApi.authorizer.function), 'Arn'] },
          ]),
        ],
      }),
    });
  });

  it('lets API Gateway invoke the authorizer only through this API authorizer', () => {
    const permissions = Object.values(
      base.statelessTemplate.findResources('AWS::Lambda::Permission'),
    ) as Json[];
    const authorizerFn = idOf(base, base.stateless.httpApi.authorizer.function);
    const forAuthorizer = permissions.filter(
      (p) => p.Properties.FunctionName['Fn::GetAtt']?.[0] === authorizerFn,
    );
    expect(forAuthorizer).toHaveLength(1);
    expect(JSON.stringify(forAuthorizer[0].Properties.SourceArn)).toContain('/authorizers/');
    expect(forAuthorizer[0].Properties.Principal).toBe('apigateway.amazonaws.com');
  });

  it('deploys one $default stage with throttling and JSON access logs kept for the stage retention', () => {
    base.statelessTemplate.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    const stage = Object.values(base.statelessTemplate.findResources('AWS::ApiGatewayV2::Stage'))[0] as Json;
    expect(stage.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    const logGroupId = stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
    expect(resources(base)[logGroupId].Properties.RetentionInDays).toBe(30);
  });

  it('outputs the API URL', () => {
    expect(base.statelessTemplate.toJSON().Outputs.ApiUrl).toBeDefined();
  });
});

describe('Lambda functions', () => {
  it('are exactly the authorizer, one per route and the AI Lambda (plus CDK-owned providers)', () => {
    const ours = appFunctions(base).map(({ fn }) => idOf(base, fn.function));
    expect(new Set(ours).size).toBe(ROUTES.length + 4);
    const lambdas = Object.entries(base.statelessTemplate.findResources('AWS::Lambda::Function'));
    const others = lambdas.filter(([id]) => !ours.includes(id)).map(([id]) => id);
    expect(others.every((id) => id.startsWith('CustomVpcRestrictDefaultSG'))).toBe(true);
  });

  it('share the defaults: Node 22 on arm64, ESM handler, own log group with retention, own role', () => {
    for (const { name, fn } of appFunctions(custom)) {
      const { Properties } = lambdaOf(custom, fn);
      expect(Properties.Runtime, name).toBe('nodejs22.x');
      expect(Properties.Architectures, name).toEqual(['arm64']);
      expect(Properties.Handler, name).toBe('index.handler');
      expect(Properties.LoggingConfig, name).toEqual({ LogGroup: { Ref: idOf(custom, fn.logGroup) } });
      expect(Properties.Role, name).toEqual({ 'Fn::GetAtt': [idOf(custom, fn.role), 'Arn'] });
      const logGroup = resources(custom)[idOf(custom, fn.logGroup)];
      expect(logGroup.Properties.RetentionInDays, name).toBe(90);
      expect(logGroup.DeletionPolicy, name).toBe('Delete');
      const role = resources(custom)[idOf(custom, fn.role)];
      // Only the media routes have one: the auth-state bucket's media read, describe or upload policy (media/* only).
      if (['GetMedia', 'SendMessage', 'CreateMediaUpload'].includes(name)) {
        expect(role.Properties.ManagedPolicyArns, name).toHaveLength(1);
      } else expect(role.Properties.ManagedPolicyArns, name).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal, name).toEqual({
        Service: 'lambda.amazonaws.com',
      });
    }
  });

  it('retain their log groups unless the stage says destroy', () => {
    for (const { fn } of appFunctions(base)) {
      expect(resources(base)[idOf(base, fn.logGroup)].DeletionPolicy).toBe('Retain');
    }
  });

  it('carry Powertools settings and source maps', () => {
    for (const { name, fn } of appFunctions(base)) {
      const vars = lambdaOf(base, fn).Properties.Environment.Variables;
      expect(vars.NODE_OPTIONS, name).toBe('--enable-source-maps');
      expect(vars.POWERTOOLS_METRICS_NAMESPACE, name).toBe(METRICS_NAMESPACE);
      const services: Record<string, string> = {
        Authorizer: 'authorizer',
        IncomingAi: 'incoming-ai',
        WebhookFanout: 'webhooks-fanout',
        WebhookDelivery: 'webhooks-delivery',
      };
      expect(vars.POWERTOOLS_SERVICE_NAME, name).toBe(services[name] ?? 'api');
    }
  });

  it('get exactly the env keys their code reads, and never a local endpoint override', () => {
    const unsetOptional = ['OPENAI_BASE_URL', 'OPENAI_API_KEY_SECRET'];
    for (const { name, fn, schema } of appFunctions(base)) {
      const keys = Object.keys(lambdaOf(base, fn).Properties.Environment.Variables).sort();
      const expected = [...deployedEnvKeys(schema), ...RUNTIME_EXTRA_ENV_KEYS]
        .filter((k) => !(schema === AiEnv && unsetOptional.includes(k)))
        .sort();
      expect(keys, name).toEqual(expected);
      expect(
        keys.some((k) => LOCAL_ONLY_ENV_KEYS.includes(k)),
        name,
      ).toBe(false);
    }
    // With the stage setting them, the optional OpenAI keys appear.
    const ai = lambdaOf(custom, custom.stateless.aiWorker.handler).Properties.Environment.Variables;
    expect(Object.keys(ai).sort()).toEqual([...deployedEnvKeys(AiEnv), ...RUNTIME_EXTRA_ENV_KEYS].sort());
    expect(ai.OPENAI_BASE_URL).toBe('https://llm.example.com/v1');
    expect(ai.OPENAI_API_KEY_SECRET).toBe('wa-gateway/openai-key');
  });

  it('name each table under its env key and list the command queues in shard order', () => {
    for (const { name, fn } of appFunctions(base)) {
      const vars = lambdaOf(base, fn).Properties.Environment.Variables;
      for (const key of Object.keys(TABLES) as TableKey[]) {
        const envKey = TABLES[key].envKey;
        if (vars[envKey])
          expect(describeRef(base, vars[envKey]), `${name} ${envKey}`).toBe(`table:${TABLES[key].id}`);
      }
      if (vars.COMMAND_QUEUE_URLS) {
        const [separator, parts] = vars.COMMAND_QUEUE_URLS['Fn::Join'];
        expect(separator).toBe(',');
        expect(
          parts.map((p: Json) => describeRef(base, p)),
          name,
        ).toEqual(['queue:Commands0', 'queue:Commands1']);
      }
    }
  });

  it('set the stage settings the code reads, and the schema defaults of the other tunables', () => {
    const route = base.stateless.httpApi.routeFunctions.get('SendMessage') as AppFunction;
    expect(lambdaOf(base, route).Properties.Environment.Variables.SEND_RATE_PER_MINUTE).toBe('60');
    const init = base.stateless.httpApi.routeFunctions.get('InitSession') as AppFunction;
    const models = 'amazon.nova-lite-v1:0,bedrock:amazon.nova-lite-v1:0';
    expect(lambdaOf(base, init).Properties.Environment.Variables).toMatchObject({
      INIT_RATE_PER_MINUTE: '10',
      SESSIONS_PER_TENANT: '50',
      ALLOWED_MODELS: models,
    });
    const ai = lambdaOf(base, base.stateless.aiWorker.handler).Properties.Environment.Variables;
    expect(ai).toMatchObject({
      AI_PROVIDER: 'bedrock',
      AI_MODEL: 'amazon.nova-lite-v1:0',
      AI_TIMEOUT_MS: '20000',
      AI_REPLIES_PER_DAY: '1000',
      ALLOWED_MODELS: models,
    });
  });

  it('point at the handler modules of ROUTES and the authorizer', () => {
    expect(AUTHORIZER_ENTRY).toBe('functions/http/authorizer.ts');
    expect(lambdaOf(base, base.stateless.httpApi.authorizer).Properties.Description).toContain('authorizer');
  });
});

describe('AI Lambda', () => {
  it('consumes incoming.fifo in batches of 10 and reports partial batch failures', () => {
    const mappings = Object.values(
      base.statelessTemplate.findResources('AWS::Lambda::EventSourceMapping'),
    ).filter(
      (m) => (m as Json).Properties.FunctionName.Ref === idOf(base, base.stateless.aiWorker.handler.function),
    ) as Json[];
    expect(mappings).toHaveLength(1);
    const [mapping] = mappings;
    expect(mapping.Properties).toMatchObject({
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FunctionName: { Ref: idOf(base, base.stateless.aiWorker.handler.function) },
    });
    expect(describeRef(base, mapping.Properties.EventSourceArn)).toBe('queue:Incoming');
  });

  it('times out before the visibility timeout of incoming.fifo, after room for several model calls', () => {
    const { Timeout } = lambdaOf(base, base.stateless.aiWorker.handler).Properties;
    expect(Timeout).toBeLessThan(INCOMING_QUEUE.visibilityTimeoutSeconds);
    const modelTimeoutSeconds = Number(AiEnv.shape.AI_TIMEOUT_MS.parse(undefined)) / 1000;
    expect(Timeout).toBeGreaterThanOrEqual(5 * (modelTimeoutSeconds + 5));
  });

  it('may invoke only the configured Bedrock model', () => {
    const grants = grantsOf(base, idOf(base, base.stateless.aiWorker.handler.role));
    const bedrock = grants.filter((s) => s.actions.some((a) => a.startsWith('bedrock:')));
    expect(bedrock).toHaveLength(1);
    expect(bedrock[0]?.actions).toEqual(['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream']);
    expect(bedrock[0]?.resources).toEqual([
      JSON.stringify({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':bedrock:',
            { Ref: 'AWS::Region' },
            '::foundation-model/amazon.nova-lite-v1:0',
          ],
        ],
      }),
    ]);
  });

  it('reaches a cross-region inference profile, its model in the geography, extra models and the key secret', () => {
    const grants = grantsOf(custom, idOf(custom, custom.stateless.aiWorker.handler.role));
    const bedrock = grants
      .filter((s) => s.actions.includes('bedrock:InvokeModel'))
      .flatMap((s) => s.resources);
    expect(bedrock.join('\n')).toContain(':inference-profile/us.amazon.nova-pro-v1:0');
    expect(bedrock.join('\n')).toContain(':bedrock:*::foundation-model/amazon.nova-pro-v1:0');
    expect(bedrock.join('\n')).toContain('::foundation-model/anthropic.claude-3-haiku-20240307-v1:0');
    const secret = grants.find((s) => s.actions.includes('secretsmanager:GetSecretValue'));
    expect(secret?.resources.join()).toContain(':secret:wa-gateway/openai-key-??????');
    expect(grants.some((s) => s.actions.some((a) => a.startsWith('ssm:')))).toBe(false);
  });
});

describe('IAM least privilege', () => {
  const allStatements = (g: SynthesizedGateway) =>
    [g.statefulTemplate, g.statelessTemplate].flatMap((t) =>
      Object.values({
        ...t.findResources('AWS::IAM::Policy'),
        ...t.findResources('AWS::IAM::ManagedPolicy'),
      }).flatMap((p: Json) => p.Properties.PolicyDocument.Statement as Json[]),
    );
  const list = (v: Json) => (Array.isArray(v) ? v : [v]);

  it('grants no wildcard action anywhere', () => {
    for (const g of [base, custom]) {
      for (const statement of allStatements(g)) {
        for (const action of list(statement.Action)) expect(action).not.toContain('*');
      }
    }
  });

  it('scopes every resource, except the ECR token call which has no resource level', () => {
    for (const g of [base, custom]) {
      for (const statement of allStatements(g)) {
        if (list(statement.Resource).includes('*')) {
          // dynamodb:ListStreams: the webhook fan-out's stream mapping (no resource level either).
          expect(['ecr:GetAuthorizationToken', 'dynamodb:ListStreams']).toContain(statement.Action);
        }
      }
    }
  });

  it('has no AWS managed policies on any role of ours', () => {
    // CDK's own provider that strips the VPC default security group keeps its basic execution role.
    const roles = Object.entries(base.statelessTemplate.findResources('AWS::IAM::Role'))
      .filter(([id]) => !id.startsWith('CustomVpcRestrictDefaultSG'))
      .map(([, role]) => role) as Json[];
    expect(roles.length).toBeGreaterThan(ROUTES.length);
    for (const role of roles) {
      const arns = JSON.stringify(role.Properties.ManagedPolicyArns ?? []);
      expect(arns).not.toContain('iam::aws:policy');
    }
  });

  it('lets the authorizer read the tenants table and nothing else', () => {
    const grants = grantsOf(base, idOf(base, base.stateless.httpApi.authorizer.role));
    const data = grants.filter((s) => !s.actions.every((a) => a.startsWith('logs:')));
    expect(data).toEqual([{ actions: READ, resources: ['table:Tenants'] }]);
  });

  it('gives each route handler exactly the tables and queues its route declares', () => {
    for (const route of ROUTES) {
      const fn = base.stateless.httpApi.routeFunctions.get(route.id) as AppFunction;
      const grants = grantsOf(base, idOf(base, fn.role));
      for (const key of Object.keys(TABLES) as TableKey[]) {
        const access = route.resources.tables[key];
        const expected = access === 'readWrite' ? READ_WRITE : access === 'read' ? READ : [];
        expect(actionsOn(grants, `table:${TABLES[key].id}`), `${route.id} ${key}`).toEqual(expected);
      }
      const send = route.resources.commands === 'send' ? SEND : [];
      expect(actionsOn(grants, 'queue:Commands0'), route.id).toEqual(send);
      expect(actionsOn(grants, 'queue:Commands1'), route.id).toEqual(send);
      expect(actionsOn(grants, 'queue:Incoming'), route.id).toEqual([]);
      expect(actionsOn(grants, 'dlq:Commands0'), route.id).toEqual([]);
      const webhookSend = route.resources.webhookDeliveries === 'send' ? SEND : [];
      expect(actionsOn(grants, 'queue:WebhookDeliveries'), route.id).toEqual(webhookSend);
      expect(actionsOn(grants, 'dlq:WebhookDeliveries'), route.id).toEqual([]);
    }
  });

  it('lets only the webhook test route queue deliveries, and keeps loopback webhooks off in AWS', () => {
    const withQueue = ROUTES.filter((r) => r.resources.webhookDeliveries === 'send').map((r) => r.id);
    expect(withQueue).toEqual(['TestWebhook']);
    // The send route checks tenant URLs too (media by url) by the same rule.
    for (const route of ROUTES.filter((r) => r.resources.tables.webhooks || r.id === 'SendMessage')) {
      const fn = base.stateless.httpApi.routeFunctions.get(route.id) as AppFunction;
      const env = lambdaOf(base, fn).Properties.Environment.Variables;
      expect(env.WEBHOOK_ALLOW_LOOPBACK, route.id).toBe('false');
    }
    const send = lambdaOf(base, base.stateless.httpApi.routeFunctions.get('SendMessage') as AppFunction)
      .Properties.Environment.Variables;
    expect(Object.keys(send).filter((k) => k.startsWith('WEBHOOK'))).toEqual(['WEBHOOK_ALLOW_LOOPBACK']);
  });

  it('lets the send route write usage (its transaction counts the message) and the OpenAPI route touch nothing', () => {
    const grantsOfRoute = (id: string) =>
      grantsOf(base, idOf(base, (base.stateless.httpApi.routeFunctions.get(id) as AppFunction).role));
    expect(actionsOn(grantsOfRoute('SendMessage'), 'table:Usage')).toEqual(READ_WRITE);
    expect(actionsOn(grantsOfRoute('GetUsage'), 'table:Usage')).toEqual(READ);
    expect(actionsOn(grantsOfRoute('GetUsage'), 'table:Sessions')).toEqual([]);
    const openApi = grantsOfRoute('GetOpenApi').filter((s) => !s.actions.every((a) => a.startsWith('logs:')));
    expect(openApi).toEqual([]);
  });

  it('lets the AI Lambda read sessions, write messages and usage, send commands and consume incoming', () => {
    const grants = grantsOf(base, idOf(base, base.stateless.aiWorker.handler.role));
    expect(actionsOn(grants, 'table:Sessions')).toEqual(READ);
    expect(actionsOn(grants, 'table:Messages')).toEqual(READ_WRITE);
    expect(actionsOn(grants, 'table:Usage')).toEqual(READ_WRITE);
    expect(actionsOn(grants, 'table:Tenants')).toEqual([]);
    expect(actionsOn(grants, 'queue:Commands0')).toEqual(SEND);
    expect(actionsOn(grants, 'queue:Incoming')).toEqual(CONSUME);
  });

  it('lets the runner task use sessions, messages, leases, the auth state, consume commands and send incoming', () => {
    const roleId = idOf(base, base.stateless.runner.taskRole);
    const grants = grantsOf(base, roleId);
    for (const table of ['Sessions', 'Messages', 'Leases'])
      expect(actionsOn(grants, `table:${table}`)).toEqual(READ_WRITE);
    expect(actionsOn(grants, 'table:Tenants')).toEqual([]);
    expect(actionsOn(grants, 'table:Requests')).toEqual([]);
    // Consumes its commands, and sends a command again when its send never left (the sweeper).
    for (const queue of ['queue:Commands0', 'queue:Commands1'])
      expect(new Set(actionsOn(grants, queue))).toEqual(new Set([...CONSUME, ...SEND]));
    expect(actionsOn(grants, 'queue:Incoming')).toEqual(SEND);
    // A malformed command goes to its DLQ from the runner itself.
    expect(actionsOn(grants, 'dlq:Commands0')).toEqual(SEND);
    expect(actionsOn(grants, 'dlq:Commands1')).toEqual(SEND);
    expect(actionsOn(grants, 'dlq:Incoming')).toEqual([]);
    const role = resources(base)[roleId];
    expect(role.Properties.ManagedPolicyArns).toEqual([
      {
        'Fn::ImportValue': expect.stringContaining(
          statefulIdOf(base, base.stateful.authState.readWritePolicy),
        ),
      },
    ]);
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'ecs-tasks.amazonaws.com',
    });
  });
});

describe('session runner', () => {
  const taskDefinitions = (g: SynthesizedGateway) =>
    Object.values(g.statelessTemplate.findResources('AWS::ECS::TaskDefinition')) as Json[];
  const services = (g: SynthesizedGateway) =>
    Object.values(g.statelessTemplate.findResources('AWS::ECS::Service')) as Json[];

  it('runs in a cluster with Container Insights', () => {
    base.statelessTemplate.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  it('starts the new task of a runner before the old one stops, and rolls back a deployment that does not get healthy', () => {
    for (const service of [...services(base), ...services(custom)]) {
      expect(service.Properties).toMatchObject({
        DesiredCount: 1,
        LaunchType: 'FARGATE',
        EnableExecuteCommand: false,
        AvailabilityZoneRebalancing: 'DISABLED',
        DeploymentConfiguration: {
          MinimumHealthyPercent: 100,
          MaximumPercent: 200,
          DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        },
      });
    }
  });

  it('sizes the task from the stage and runs the image built from session-runner/Dockerfile', () => {
    const [task] = taskDefinitions(base);
    expect(task.Properties).toMatchObject({
      Cpu: '1024',
      Memory: '2048',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
    });
    expect(taskDefinitions(custom)[0].Properties).toMatchObject({
      Cpu: '2048',
      Memory: '8192',
      RuntimePlatform: { CpuArchitecture: 'X86_64' },
    });
    const assembly = base.app.synth();
    const assets = JSON.parse(
      readFileSync(join(assembly.directory, `${base.stateless.artifactId}.assets.json`), 'utf8'),
    ) as { dockerImages: Record<string, { source: Json }> };
    const images = Object.values(assets.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]?.source).toMatchObject({
      dockerFile: 'session-runner/Dockerfile',
      platform: 'linux/arm64',
    });
  });

  it('stops gracefully, checks /healthz with node, logs with retention, runs an init process', () => {
    const [task] = taskDefinitions(base);
    const [container] = task.Properties.ContainerDefinitions;
    expect(container.StopTimeout).toBe(RUNNER_STOP_TIMEOUT.toSeconds());
    expect(container.StopTimeout).toBeGreaterThanOrEqual(30);
    expect(container.StopTimeout).toBeLessThanOrEqual(120);
    expect(container.HealthCheck.Command.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(container.HealthCheck.Command[3]).toContain("fetch('http://localhost:8080/healthz')");
    expect(container.HealthCheck).toMatchObject({ Interval: 30, Retries: 3, StartPeriod: 60, Timeout: 5 });
    expect(container.LinuxParameters).toMatchObject({ InitProcessEnabled: true });
    expect(container.LogConfiguration.LogDriver).toBe('awslogs');
    const logGroupId = container.LogConfiguration.Options['awslogs-group'].Ref;
    expect(resources(base)[logGroupId].Properties.RetentionInDays).toBe(30);
  });

  it('gets exactly the env keys RunnerEnv reads (optional ones only when the stage sets them)', () => {
    const unset = ['RUNNER_ID', 'WHATSAPP_VERSION'];
    const envOf = (task: Json) =>
      Object.fromEntries(
        task.Properties.ContainerDefinitions[0].Environment.map((e: Json) => [e.Name, e.Value]),
      );
    const base0 = envOf(taskDefinitions(base)[0]);
    expect(Object.keys(base0).sort()).toEqual(
      [...deployedEnvKeys(RunnerEnv), ...RUNTIME_EXTRA_ENV_KEYS].filter((k) => !unset.includes(k)).sort(),
    );
    expect(base0).toMatchObject({
      RUNNER_SHARDS: 'all',
      HEALTH_PORT: '8080',
      LEASE_DURATION_MS: '30000',
      SEND_MIN_INTERVAL_MS: '1000',
      WHATSAPP_WS_URL: 'wss://web.whatsapp.com/ws/chat',
      LOG_LEVEL: 'INFO',
      POWERTOOLS_SERVICE_NAME: 'session-runner',
    });
    expect(describeRef(base, base0.SESSIONS_TABLE)).toBe('table:Sessions');
    expect(describeRef(base, base0.LEASES_TABLE)).toBe('table:Leases');
    expect(describeRef(base, base0.AUTH_STATE_BUCKET)).toBe('bucket:AuthState');
    expect(describeRef(base, base0.INCOMING_QUEUE_URL)).toBe('queue:Incoming');
    expect(base0.COMMAND_QUEUE_URLS['Fn::Join'][1].map((p: Json) => describeRef(base, p))).toEqual([
      'queue:Commands0',
      'queue:Commands1',
    ]);
    const custom0 = envOf(taskDefinitions(custom)[0]);
    expect(custom0.WHATSAPP_VERSION).toBe('2.3000.1023223821');
    expect(Object.keys(custom0).some((k) => LOCAL_ONLY_ENV_KEYS.includes(k))).toBe(false);
  });

  it('splits the shards between runners, one service each', () => {
    expect(services(custom)).toHaveLength(2);
    const shards = taskDefinitions(custom).map(
      (t) =>
        t.Properties.ContainerDefinitions[0].Environment.find((e: Json) => e.Name === 'RUNNER_SHARDS').Value,
    );
    expect(shards.sort()).toEqual(['0,2', '1,3']);
  });

  it('by default sits in public subnets with a public IP and no NAT gateway', () => {
    base.statelessTemplate.resourceCountIs('AWS::EC2::NatGateway', 0);
    const [service] = services(base);
    const config = service.Properties.NetworkConfiguration.AwsvpcConfiguration;
    expect(config.AssignPublicIp).toBe('ENABLED');
    for (const subnet of config.Subnets) {
      expect(resources(base)[subnet.Ref].Properties.MapPublicIpOnLaunch).toBe(true);
    }
  });

  it('can sit in private subnets behind NAT instead', () => {
    custom.statelessTemplate.resourceCountIs('AWS::EC2::NatGateway', 2);
    custom.statelessTemplate.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.9.0.0/16' });
    for (const service of services(custom)) {
      const config = service.Properties.NetworkConfiguration.AwsvpcConfiguration;
      expect(config.AssignPublicIp).toBe('DISABLED');
      for (const subnet of config.Subnets) {
        expect(resources(custom)[subnet.Ref].Properties.MapPublicIpOnLaunch).toBe(false);
      }
    }
  });

  it('accepts no inbound traffic and sends only HTTPS out', () => {
    const sgId = idOf(base, base.stateless.runner.securityGroup);
    const sg = resources(base)[sgId];
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
    expect(sg.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
    ]);
    base.statelessTemplate.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('flow-logs rejected VPC traffic', () => {
    base.statelessTemplate.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'REJECT',
      LogDestinationType: 'cloud-watch-logs',
    });
  });

  it('outputs the cluster, service and log group names', () => {
    expect(Object.keys(base.statelessTemplate.toJSON().Outputs)).toEqual(
      expect.arrayContaining(['ClusterName', 'RunnerService0Name', 'RunnerLogGroupName']),
    );
  });
});

describe('observability', () => {
  const alarms = (g: SynthesizedGateway) =>
    Object.values(g.statelessTemplate.findResources('AWS::CloudWatch::Alarm')) as Json[];
  const topicId = (g: SynthesizedGateway) => idOf(g, g.stateless.observability.topic);
  const alarmOn = (g: SynthesizedGateway, metricName: string, dimension?: string) =>
    alarms(g).filter(
      (a) =>
        a.Properties.MetricName === metricName &&
        (!dimension || JSON.stringify(a.Properties.Dimensions ?? []).includes(dimension)),
    );

  it('sends every alarm and its recovery to one KMS-encrypted topic that requires TLS', () => {
    const topic = resources(base)[topicId(base)];
    expect(topic.Properties.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/TopicKey/), 'Arn'],
    });
    const keyId = topic.Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    expect(resources(base)[keyId].Properties.EnableKeyRotation).toBe(true);
    const keyStatements = resources(base)[keyId].Properties.KeyPolicy.Statement as Json[];
    expect(keyStatements.some((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com')).toBe(true);
    base.statelessTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    for (const alarm of alarms(base)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId(base) }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId(base) }]);
      expect(alarm.Properties.AlarmDescription).toBeTruthy();
    }
  });

  it('mails the alarm address only when the stage gives one', () => {
    base.statelessTemplate.resourceCountIs('AWS::SNS::Subscription', 0);
    custom.statelessTemplate.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: topicId(custom) },
    });
  });

  it('pages on any dead letter and on a stuck queue, for every queue', () => {
    for (const pair of base.stateful.queues.all) {
      const dlqAlarm = alarmOn(
        base,
        'ApproximateNumberOfMessagesVisible',
        statefulIdOf(base, pair.deadLetterQueue),
      );
      expect(dlqAlarm, pair.definition.name).toHaveLength(1);
      expect(dlqAlarm[0].Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      const ageAlarm = alarmOn(base, 'ApproximateAgeOfOldestMessage', statefulIdOf(base, pair.queue));
      expect(ageAlarm, pair.definition.name).toHaveLength(1);
      expect(ageAlarm[0].Properties.Threshold).toBe(300);
    }
  });

  it('pages when runner heartbeats go missing, treating no data as breaching', () => {
    const [alarm] = alarmOn(base, RUNNER_METRICS.heartbeat);
    expect(alarm?.Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: 'session-runner' }],
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      Statistic: 'Sum',
      EvaluationPeriods: 2,
    });
    // Two runners beat twice as often.
    expect(alarmOn(custom, RUNNER_METRICS.heartbeat)[0].Properties.Threshold).toBeGreaterThan(
      alarm.Properties.Threshold,
    );
    expect(alarmOn(base, 'MemoryUtilization')).toHaveLength(1);
  });

  it('pages on any spooled or dropped incoming message, from the runner EMF metrics', () => {
    for (const metric of [RUNNER_METRICS.incomingSpooled, RUNNER_METRICS.incomingDropped]) {
      const [alarm] = alarmOn(base, metric);
      expect(alarm?.Properties, metric).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        Dimensions: [{ Name: 'service', Value: 'session-runner' }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    expect(alarmOn(base, RUNNER_METRICS.incomingRedriven)).toHaveLength(0);
  });

  it('pages on any send the sweeper gave up (NOT_SENT), not on its re-enqueues', () => {
    const [alarm] = alarmOn(base, RUNNER_METRICS.sendsGivenUp);
    expect(alarm?.Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Dimensions: [{ Name: 'service', Value: 'session-runner' }],
      Statistic: 'Sum',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(alarmOn(base, RUNNER_METRICS.sendsResent)).toHaveLength(0);
  });

  it('pages on lost leases, 440 and 401 disconnects and failed commands from the runner EMF metrics', () => {
    for (const metric of [
      RUNNER_METRICS.leaseLost,
      RUNNER_METRICS.disconnect440,
      RUNNER_METRICS.disconnect401,
      RUNNER_METRICS.commandsFailed,
    ]) {
      const [alarm] = alarmOn(base, metric);
      expect(alarm?.Properties, metric).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        Dimensions: [{ Name: 'service', Value: 'session-runner' }],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('pages on errors and throttles of every Lambda function, and on API 5xx', () => {
    for (const { name, fn } of appFunctions(base)) {
      const fnRef = idOf(base, fn.function);
      expect(alarmOn(base, 'Errors', fnRef), name).toHaveLength(1);
      expect(alarmOn(base, 'Throttles', fnRef), name).toHaveLength(1);
    }
    expect(alarmOn(base, '5xx')).toHaveLength(1);
  });

  it('draws a dashboard of the API, Lambdas, queues and runner', () => {
    const [dashboard] = Object.values(
      base.statelessTemplate.findResources('AWS::CloudWatch::Dashboard'),
    ) as Json[];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const text of [
      'RunnerHeartbeat',
      'LeaseLost',
      'Disconnect440',
      'ApproximateAgeOfOldestMessage',
      '5xx',
      'Errors',
    ]) {
      expect(body).toContain(text);
    }
  });
});
