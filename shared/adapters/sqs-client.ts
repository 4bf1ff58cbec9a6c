import { SQSClient } from '@aws-sdk/client-sqs';
import type { EndpointConfig } from '../config.ts';
import { assertLoopbackEndpoint, prepareClient, REQUEST_TIMEOUTS } from './aws-client-defaults.ts';

/** The SQS client: AWS itself, or the local stand-in when `SQS_ENDPOINT` is set. */
export const createSqsClient = (config: EndpointConfig, options: { component?: string } = {}): SQSClient => {
  assertLoopbackEndpoint('SQS', config.SQS_ENDPOINT);
  return prepareClient(
    new SQSClient({
      requestHandler: REQUEST_TIMEOUTS.sqs,
      ...(config.SQS_ENDPOINT && { endpoint: config.SQS_ENDPOINT }),
    }),
    options.component,
  );
};
