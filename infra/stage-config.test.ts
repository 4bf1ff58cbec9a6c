import { describe, expect, it } from 'vitest';
import { allowedModelsOf, mergeStageInput, parseStageConfig, StageConfigError } from './stage-config.ts';

describe('stage configuration', () => {
  it('has safe defaults: one shard, one runner, Bedrock Nova Lite, retained data, public subnets', () => {
    expect(parseStageConfig({})).toEqual({
      stage: 'dev',
      shardCount: 1,
      runnerCount: 1,
      runnerCpu: 1024,
      runnerMemoryMiB: 2048,
      runnerArchitecture: 'arm64',
      aiProvider: 'bedrock',
      aiModel: 'amazon.nova-lite-v1:0',
      aiExtraModels: [],
      logRetentionDays: 30,
      vpc: { mode: 'public', maxAzs: 2, natGateways: 1 },
      removalPolicy: 'retain',
      mediaRetentionDays: 30,
      sendRatePerMinute: 60,
      initRatePerMinute: 10,
      sessionsPerTenant: 50,
      aiRepliesPerDay: 1000,
      sendMinIntervalMs: 1000,
      runnerLogLevel: 'INFO',
      apiRateLimit: 50,
      apiBurstLimit: 100,
    });
  });

  it('reads `-c key=value` strings as numbers and lists', () => {
    const config = parseStageConfig(
      mergeStageInput(undefined, {
        stage: 'prod',
        shardCount: '4',
        runnerCount: '2',
        runnerMemoryMiB: '4096',
        aiExtraModels: 'a.b-v1:0,c.d-v2:0',
        vpcMode: 'private-nat',
        vpcNatGateways: '2',
      }),
    );
    expect(config).toMatchObject({
      stage: 'prod',
      shardCount: 4,
      runnerCount: 2,
      runnerMemoryMiB: 4096,
      aiExtraModels: ['a.b-v1:0', 'c.d-v2:0'],
      vpc: { mode: 'private-nat', natGateways: 2, maxAzs: 2 },
    });
  });

  it('lets single context keys override the cdk.json stage block', () => {
    const merged = mergeStageInput(
      { shardCount: 2, logRetentionDays: 90, vpc: { mode: 'private-nat', cidr: '10.1.0.0/16' } },
      { stage: 'prod', shardCount: '3', vpcCidr: '10.2.0.0/16', alarmEmail: undefined },
    );
    expect(parseStageConfig(merged)).toMatchObject({
      shardCount: 3,
      logRetentionDays: 90,
      vpc: { mode: 'private-nat', cidr: '10.2.0.0/16' },
    });
  });

  it('names every bad key at once', () => {
    let error: unknown;
    try {
      parseStageConfig({
        stage: 'Prod!',
        shardCount: 0,
        runnerCpu: 1000,
        logRetentionDays: 31,
        alarmEmail: 'not-an-email',
        removalPolicy: 'maybe',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StageConfigError);
    const paths = (error as StageConfigError).problems.map((p) => p.split(':')[0]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'stage',
        'shardCount',
        'runnerCpu',
        'logRetentionDays',
        'alarmEmail',
        'removalPolicy',
      ]),
    );
  });

  it('refuses a memory size Fargate does not offer for the CPU', () => {
    expect(() => parseStageConfig({ runnerCpu: 256, runnerMemoryMiB: 4096 })).toThrow(/runnerMemoryMiB/);
  });

  it('refuses more runners than shards, and an OpenAI provider without its URL', () => {
    expect(() => parseStageConfig({ runnerCount: 2, shardCount: 1 })).toThrow(/runnerCount/);
    expect(() => parseStageConfig({ aiProvider: 'openai' })).toThrow(/openAiBaseUrl/);
  });

  it('allows chatbots the stage default Bedrock model, and its extra models, as a chatbot may write them', () => {
    expect(allowedModelsOf(parseStageConfig({}))).toEqual([
      'amazon.nova-lite-v1:0',
      'bedrock:amazon.nova-lite-v1:0',
    ]);
    expect(allowedModelsOf(parseStageConfig({ aiExtraModels: 'x.y-v1:0' }))).toEqual([
      'amazon.nova-lite-v1:0',
      'bedrock:amazon.nova-lite-v1:0',
      'x.y-v1:0',
      'bedrock:x.y-v1:0',
    ]);
    expect(allowedModelsOf(parseStageConfig({ aiProvider: 'offline' }))).toEqual(['offline']);
    expect(allowedModelsOf(parseStageConfig({ allowedModels: 'offline, amazon.nova-lite-v1:0' }))).toEqual([
      'offline',
      'amazon.nova-lite-v1:0',
    ]);
  });

  it('refuses an allowed Bedrock model the AI Lambda may not invoke, and bad limits', () => {
    expect(() => parseStageConfig({ allowedModels: ['bedrock:anthropic.claude-x'] })).toThrow(
      /allowedModels/,
    );
    expect(() => parseStageConfig({ allowedModels: ['some.other-model'] })).toThrow(/allowedModels/);
    expect(parseStageConfig({ allowedModels: ['openai:gpt-4o', 'offline'] }).allowedModels).toEqual([
      'openai:gpt-4o',
      'offline',
    ]);
    let error: unknown;
    try {
      parseStageConfig({ initRatePerMinute: 0, sessionsPerTenant: 'many', aiRepliesPerDay: -1 });
    } catch (e) {
      error = e;
    }
    const paths = (error as StageConfigError).problems.map((p) => p.split(':')[0]);
    expect(paths).toEqual(
      expect.arrayContaining(['initRatePerMinute', 'sessionsPerTenant', 'aiRepliesPerDay']),
    );
  });
});
