import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addGateway, type GatewayOptions, type GatewayStacks, stackNames } from './gateway.ts';
import { REPO_ROOT } from './paths.ts';
import { StatefulStack } from './stacks/stateful-stack.ts';
import { parseStageConfig, type StageConfig, type StageConfigInput } from './stage-config.ts';

/** The feature flags of cdk.json, which the CLI would pass to the app. */
export const cdkJsonContext = (): Record<string, unknown> => {
  const { context } = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return context;
};

export interface SynthesizedGateway extends GatewayStacks {
  app: App;
  config: StageConfig;
  stateful: GatewayStacks['stateful'];
  statefulTemplate: Template;
  statelessTemplate: Template;
}

/**
 * Synthesizes one stage offline, with the feature flags of cdk.json and without bundling (unless
 * `bundle` is set). cdk-nag runs as in the real app unless `nag: false`, so any unacknowledged
 * finding throws here.
 */
export const synthGateway = (
  input: StageConfigInput = {},
  options: GatewayOptions & {
    bundle?: boolean;
    outdir?: string;
    cfnValidation?: boolean;
    /** Build the app without synthesizing it yet (the templates are then not available). */
    deferTemplates?: boolean;
  } = {},
): SynthesizedGateway => {
  const app = new App({
    outdir: options.outdir,
    // CDK's own CloudFormation rule check (WebAssembly, ~3 s a synth) runs in the cdk-nag test.
    builtinCloudFormationValidation: options.cfnValidation ?? false,
    context: { ...cdkJsonContext(), ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) },
  });
  const config = parseStageConfig(input);
  const stacks = addGateway(app, config, options);
  if (options.deferTemplates) {
    const unavailable = () => {
      throw new Error('templates were deferred');
    };
    return {
      app,
      config,
      ...stacks,
      get statefulTemplate(): Template {
        return unavailable();
      },
      get statelessTemplate(): Template {
        return unavailable();
      },
    };
  }
  return {
    app,
    config,
    ...stacks,
    statefulTemplate: Template.fromStack(stacks.stateful),
    statelessTemplate: Template.fromStack(stacks.stateless),
  };
};

export interface SynthesizedStateful {
  stateful: StatefulStack;
  statefulTemplate: Template;
}

/** Only the stateful stack of a stage (quicker, for tests of the data resources alone). */
export const synthStateful = (input: StageConfigInput = {}): SynthesizedStateful => {
  const app = new App({ context: { ...cdkJsonContext() }, builtinCloudFormationValidation: false });
  const config = parseStageConfig(input);
  const stateful = new StatefulStack(app, stackNames(config.stage).stateful, { config });
  return { stateful, statefulTemplate: Template.fromStack(stateful) };
};
