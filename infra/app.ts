#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { addGateway } from './gateway.ts';
import {
  FLAT_CONTEXT_KEYS,
  mergeStageInput,
  parseStageConfig,
  StageConfigError,
  VPC_CONTEXT_KEYS,
} from './stage-config.ts';

/**
 * The CDK app: the only place that reads context or env. The stage comes from `-c stage=<name>`
 * (or `STAGE`), its settings from the `stages.<name>` block of cdk.json, and any single setting
 * from `-c key=value` (`-c shardCount=2`, `-c vpcMode=private-nat`); `ALARM_EMAIL` may give the
 * alarm address.
 */
const app = new App();
const stage = (app.node.tryGetContext('stage') as string | undefined) ?? process.env.STAGE ?? 'dev';
const stages = (app.node.tryGetContext('stages') ?? {}) as Record<string, Record<string, unknown>>;
const flat: Record<string, unknown> = { stage };
for (const key of [...FLAT_CONTEXT_KEYS, ...Object.keys(VPC_CONTEXT_KEYS)]) {
  const value = app.node.tryGetContext(key);
  if (value !== undefined) flat[key] = value;
}
flat.alarmEmail ??= process.env.ALARM_EMAIL;
flat.mediaRetentionDays ??= process.env.MEDIA_RETENTION_DAYS;

try {
  addGateway(app, parseStageConfig(mergeStageInput(stages[stage], flat)));
} catch (error) {
  if (!(error instanceof StageConfigError)) throw error;
  console.error(
    `Stage "${stage}": invalid configuration\n${error.problems.map((p) => `  - ${p}`).join('\n')}`,
  );
  process.exit(1);
}
app.synth();
