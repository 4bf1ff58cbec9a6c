import { ArnFormat, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AiEnv } from '#shared/config.ts';
import type { StageConfig } from '../stage-config.ts';
import { AppFunction } from './app-function.ts';

export interface AiWorkerProps {
  entry: string;
  serviceName: string;
  /** `incoming.fifo`, whose visibility timeout bounds the function's timeout. */
  incomingQueue: IQueue;
  incomingVisibilityTimeout: Duration;
  ai: Pick<StageConfig, 'aiProvider' | 'aiModel' | 'aiExtraModels' | 'openAiBaseUrl' | 'openAiApiKeySecret'>;
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** Gives the function the tables and queues AiEnv names. */
  bind: (fn: AppFunction) => void;
}

/** Cross-region inference profiles carry a geography prefix: `us.amazon.nova-lite-v1:0`. */
const INFERENCE_PROFILE = /^(us|eu|apac|jp|au|ca|us-gov|global)\.(.+)$/;

/**
 * The AI Lambda on `incoming.fifo`: batches of 10 with partial batch failures, so a failing
 * record is retried (and after five receives dead-lettered) without failing the other
 * conversations of its batch. Bedrock access is limited to the configured models, the OpenAI key
 * to its one secret.
 */
export class AiWorker extends Construct {
  readonly handler: AppFunction;

  constructor(scope: Construct, id: string, props: AiWorkerProps) {
    super(scope, id);
    const { ai } = props;
    this.handler = new AppFunction(this, 'Handler', {
      entry: props.entry,
      description: 'WhatsApp gateway: answers incoming messages with AI',
      serviceName: props.serviceName,
      envSchema: AiEnv,
      memorySize: 1024,
      // Below the visibility timeout (a batch still running is never handed to another
      // invocation) with room for several model calls in a row: a FIFO batch runs in order, and a
      // record the handler hands back for lack of time costs one of its five receives.
      timeout: props.incomingVisibilityTimeout.minus(Duration.seconds(30)),
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
    });
    props.bind(this.handler);

    const fn = this.handler;
    fn.addEnvironment('AI_PROVIDER', ai.aiProvider);
    fn.addEnvironment('AI_MODEL', ai.aiModel);
    // A chatbot may name `bedrock:<model>` whatever the default provider is.
    const bedrockModels = [...(ai.aiProvider === 'bedrock' ? [ai.aiModel] : []), ...ai.aiExtraModels];
    if (bedrockModels.length > 0) this.grantBedrock(bedrockModels);
    if (ai.openAiBaseUrl) fn.addEnvironment('OPENAI_BASE_URL', ai.openAiBaseUrl);
    if (ai.openAiApiKeySecret) this.grantSecret(ai.openAiApiKeySecret);
    fn.addSchemaDefaults();

    fn.function.addEventSource(
      new SqsEventSource(props.incomingQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
  }

  private grantBedrock(models: string[]): void {
    const stack = Stack.of(this);
    const foundationModel = (model: string, region?: string) =>
      stack.formatArn({
        service: 'bedrock',
        region,
        account: '',
        resource: 'foundation-model',
        resourceName: model,
      });
    const resources = new Set<string>();
    const anyRegionModels = new Set<string>();
    for (const model of models) {
      const profile = INFERENCE_PROFILE.exec(model);
      if (profile) {
        // A profile routes each request to its model in any region of its geography.
        resources.add(
          stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: model }),
        );
        anyRegionModels.add(profile[2] as string);
      } else {
        resources.add(foundationModel(model));
      }
    }
    for (const model of anyRegionModels) resources.add(foundationModel(model, '*'));
    // Converse and ConverseStream are authorized as InvokeModel and InvokeModelWithResponseStream.
    this.handler.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
        resources: [...resources],
      }),
    );
    for (const model of anyRegionModels) {
      Validations.of(this.handler.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/${model}]`,
        reason: `A cross-region inference profile runs ${model} in any region of its geography; the grant names that one model.`,
      });
    }
  }

  /** The OpenAI-compatible key: one Secrets Manager secret, by name or ARN, read only. */
  private grantSecret(nameOrArn: string): void {
    const secretArn = nameOrArn.startsWith('arn:')
      ? nameOrArn
      : Stack.of(this).formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          // Secrets Manager appends six random characters to the name.
          resourceName: `${nameOrArn}-??????`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
    this.handler.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }),
    );
    this.handler.addEnvironment('OPENAI_API_KEY_SECRET', nameOrArn);
  }
}
