import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_KEY_DOOR_SOURCE } from '#functions/http/api-key-door.ts';
import { type SynthesizedGateway, synthGateway } from './test-support.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
type Json = any;

let g: SynthesizedGateway;
beforeAll(() => {
  g = synthGateway({ stage: 'dev' }, { nag: false });
});

describe('the API key at the door', () => {
  it('gives the Lambda authorizer x-api-key as identity source and no cache', () => {
    g.statelessTemplate.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      IdentitySource: ['$request.header.x-api-key'],
      AuthorizerResultTtlInSeconds: 0,
      EnableSimpleResponses: true,
    });
  });

  it('puts a CloudFront distribution in front whose viewer-request function is the door', () => {
    const functions = g.statelessTemplate.findResources('AWS::CloudFront::Function');
    const [functionId, fn] = Object.entries(functions)[0] as [string, Json];
    expect(Object.keys(functions)).toHaveLength(1);
    expect(fn.Properties.FunctionCode).toBe(API_KEY_DOOR_SOURCE);
    expect(fn.Properties.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
    g.statelessTemplate.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: 'https-only',
          AllowedMethods: Match.arrayWith(['GET', 'PUT', 'POST']),
          // Managed-CachingDisabled: every request goes to the API.
          CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
          FunctionAssociations: [
            { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [functionId, 'FunctionARN'] } },
          ],
        }),
        Origins: [
          Match.objectLike({
            CustomOriginConfig: Match.objectLike({ OriginProtocolPolicy: 'https-only' }),
          }),
        ],
      }),
    });
  });

  it('publishes the door as the API URL and the execute-api URL apart', () => {
    const outputs = g.statelessTemplate.toJSON().Outputs as Record<string, Json>;
    expect(JSON.stringify(outputs.ApiUrl.Value)).toContain('DomainName');
    expect(JSON.stringify(outputs.ExecuteApiUrl.Value)).toContain('execute-api');
  });
});
