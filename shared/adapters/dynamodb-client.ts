import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EndpointConfig } from '../config.ts';
import { assertLoopbackEndpoint, prepareClient, REQUEST_TIMEOUTS } from './aws-client-defaults.ts';

/**
 * The DynamoDB document client: AWS itself, or the local stand-in when `DYNAMODB_ENDPOINT` is set.
 * A module of its own so that a Lambda bundles only the clients it builds.
 */
export const createDynamoClient = (
  config: EndpointConfig,
  options: { component?: string } = {},
): DynamoDBDocumentClient => {
  assertLoopbackEndpoint('DynamoDB', config.DYNAMODB_ENDPOINT);
  const dynamo = new DynamoDBClient({
    requestHandler: REQUEST_TIMEOUTS.dynamo,
    ...(config.DYNAMODB_ENDPOINT && { endpoint: config.DYNAMODB_ENDPOINT }),
  });
  return prepareClient(
    DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }),
    options.component,
  );
};
