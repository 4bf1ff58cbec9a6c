import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StatefulStack } from './stacks/stateful-stack.ts';
import { StatelessStack, type StatelessStackProps } from './stacks/stateless-stack.ts';
import type { StageConfig } from './stage-config.ts';

export interface GatewayStacks {
  stateful: StatefulStack;
  stateless: StatelessStack;
}

export interface GatewayOptions {
  /** Run cdk-nag's AwsSolutions pack at synth (default true; synth fails on any finding). */
  nag?: boolean;
  routes?: StatelessStackProps['routes'];
}

/** Stack names of a stage: `WaGateway-<stage>-Stateful` and `WaGateway-<stage>-Stateless`. */
export const stackNames = (stage: string) => ({
  stateful: `WaGateway-${stage}-Stateful`,
  stateless: `WaGateway-${stage}-Stateless`,
});

/**
 * Adds one stage of the gateway to an app: the stateful stack, the stateless stack that uses it,
 * and the cdk-nag checks. Environment-agnostic: no account or region, so synth needs no credentials.
 */
export const addGateway = (app: App, config: StageConfig, options: GatewayOptions = {}): GatewayStacks => {
  const names = stackNames(config.stage);
  const stateful = new StatefulStack(app, names.stateful, {
    stackName: names.stateful,
    description: `WhatsApp gateway (${config.stage}): tables, auth-state bucket, queues`,
    config,
  });
  const stateless = new StatelessStack(app, names.stateless, {
    stackName: names.stateless,
    description: `WhatsApp gateway (${config.stage}): API, Lambdas, session runner, alarms`,
    config,
    routes: options.routes,
    resources: {
      tables: stateful.tables.byKey,
      authStateBucket: stateful.authState.bucket,
      authStatePolicy: stateful.authState.readWritePolicy,
      mediaReadPolicy: stateful.authState.mediaReadPolicy,
      mediaDescribePolicy: stateful.authState.mediaDescribePolicy,
      mediaUploadPolicy: stateful.authState.mediaUploadPolicy,
      commandQueues: stateful.queues.commands,
      incomingQueue: stateful.queues.incoming,
      commandQueueUrls: stateful.queues.commandQueueUrls,
      webhookDeliveries: stateful.webhookQueues.pair,
    },
  });
  stateless.addStackDependency(stateful);
  for (const stack of [stateful, stateless]) {
    Tags.of(stack).add('app', 'whatsapp-gateway');
    Tags.of(stack).add('stage', config.stage);
  }
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { stateful, stateless };
};
