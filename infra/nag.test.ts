import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { type SynthesizedGateway, synthGateway } from './test-support.ts';

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

/** Every acknowledgement recorded on the construct tree, where it was made and why. */
const acknowledgements = (root: IConstruct): Acknowledgement[] =>
  root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );

/** The violations of every validation plugin (cdk-nag, CloudFormation rules, annotations). */
const violations = (directory: string) => {
  const file = join(directory, 'validation-report.json');
  if (!existsSync(file)) return [];
  const report = JSON.parse(readFileSync(file, 'utf8')) as {
    pluginReports: { pluginName: string; violations?: unknown[] }[];
  };
  return report.pluginReports.flatMap((r) => (r.violations ?? []).map((v) => ({ plugin: r.pluginName, v })));
};

const STAGES = {
  default: {},
  everything: {
    stage: 'prod',
    shardCount: 4,
    runnerCount: 2,
    vpc: { mode: 'private-nat' as const },
    aiModel: 'eu.amazon.nova-lite-v1:0',
    openAiBaseUrl: 'https://llm.example.com/v1',
    openAiApiKeySecret: 'wa/openai',
    alarmEmail: 'oncall@example.com',
    removalPolicy: 'destroy' as const,
  },
};

describe('cdk-nag AwsSolutions', () => {
  const synthesized = new Map<string, SynthesizedGateway>();

  it.each(Object.entries(STAGES))(
    'passes with zero unacknowledged findings and a clean validation report (%s stage)',
    (name, input) => {
      // CDK's CloudFormation rule check (slow, WebAssembly) once; cdk-nag on every stage.
      const gateway = synthGateway(input, { cfnValidation: name === 'default' });
      synthesized.set(name, gateway);
      const assembly = gateway.app.synth();
      expect(violations(assembly.directory)).toEqual([]);
    },
  );

  it('acknowledges only the expected rules, each where it applies and with a concrete reason', () => {
    const gateway = synthesized.get('everything') ?? synthGateway(STAGES.everything);
    // CDK acknowledges some CloudFormation-Validate rules for its own constructs; ours are cdk-nag's.
    const acks = acknowledgements(gateway.app).filter((a) => a.id.startsWith('AwsSolutions'));
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(40);
      // Never a blanket acknowledgement on an app or a stack.
      expect(ack.path.split('/').length, `${ack.id} at ${ack.path}`).toBeGreaterThan(1);
    }
    const byRule = (prefix: string) => acks.filter((a) => a.id.startsWith(prefix));
    // Node 22 is pinned: every function of ours, nothing else.
    expect(byRule('AwsSolutions-L1').every((a) => /\/Function$/.test(a.path))).toBe(true);
    // Plain env (names and URLs, no secrets) on each runner task definition.
    expect(byRule('AwsSolutions-ECS2').map((a) => a.path)).toEqual([
      'WaGateway-prod-Stateless/SessionRunner/Task0',
      'WaGateway-prod-Stateless/SessionRunner/Task1',
    ]);
    expect(byRule('AwsSolutions-S1').map((a) => a.path)).toEqual([
      'WaGateway-prod-Stateful/AuthState/AccessLogs',
    ]);
    expect(byRule('AwsSolutions-IAM5').map((a) => [a.path, a.id])).toEqual(
      expect.arrayContaining([
        [
          'WaGateway-prod-Stateful/AuthState/ReadWritePolicy',
          expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<AuthStateBucket\w+\.Arn>\/\*\]$/),
        ],
        [
          'WaGateway-prod-Stateful/AuthState/MediaReadPolicy',
          expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<AuthStateBucket\w+\.Arn>\/media\/\*\]$/),
        ],
        [
          'WaGateway-prod-Stateful/AuthState/MediaUploadPolicy',
          expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<AuthStateBucket\w+\.Arn>\/media\/\*\]$/),
        ],
        [
          'WaGateway-prod-Stateful/AuthState/MediaDescribePolicy',
          expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<AuthStateBucket\w+\.Arn>\/media\/\*\]$/),
        ],
        ['WaGateway-prod-Stateless/SessionRunner/ExecutionRole', 'AwsSolutions-IAM5[Resource::*]'],
        ['WaGateway-prod-Stateless/Webhooks/Fanout/Role', 'AwsSolutions-IAM5[Resource::*]'],
        [
          'WaGateway-prod-Stateless/AiWorker/Handler/Role',
          'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/amazon.nova-lite-v1:0]',
        ],
      ]),
    );
    // The CloudFront door of the API: no geo restriction, no WAF, no standard logs, default certificate.
    for (const rule of ['AwsSolutions-CFR1', 'AwsSolutions-CFR2', 'AwsSolutions-CFR3', 'AwsSolutions-CFR4']) {
      expect(byRule(rule).map((a) => a.path)).toEqual(['WaGateway-prod-Stateless/HttpApi/Edge/Distribution']);
    }
    const known = [
      'AwsSolutions-L1',
      'AwsSolutions-ECS2',
      'AwsSolutions-S1',
      'AwsSolutions-IAM5[',
      'AwsSolutions-CFR1',
      'AwsSolutions-CFR2',
      'AwsSolutions-CFR3',
      'AwsSolutions-CFR4',
    ];
    expect(acks.filter((a) => !known.some((k) => a.id.startsWith(k)))).toEqual([]);
    expect(byRule('AwsSolutions-IAM5')).toHaveLength(7);
  });

  it('really runs: a non-compliant resource makes synth fail', () => {
    const gateway = synthGateway({ stage: 'nagcheck' }, { nag: true, deferTemplates: true });
    new Bucket(gateway.stateful, 'Careless');
    expect(() => gateway.app.synth()).toThrow(/AwsSolutions-S1/);
  });
});
