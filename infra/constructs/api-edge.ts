import { Fn, Validations } from 'aws-cdk-lib';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  PriceClass,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Construct } from 'constructs';
import { API_KEY_DOOR_SOURCE } from '#functions/http/api-key-door.ts';

export interface ApiEdgeProps {
  api: HttpApi;
}

/**
 * The tenant API's public door: a CloudFront distribution in front of the HTTP API whose viewer
 * request function (functions/http/api-key-door.ts) answers a request without an API key itself
 * and hands the key on in `x-api-key`, the authorizer's identity source. Nothing is cached: every
 * request with a key goes to the API.
 */
export class ApiEdge extends Construct {
  readonly distribution: Distribution;

  constructor(scope: Construct, id: string, props: ApiEdgeProps) {
    super(scope, id);
    const door = new EdgeFunction(this, 'ApiKeyDoor', {
      code: FunctionCode.fromInline(API_KEY_DOOR_SOURCE),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'WhatsApp gateway: 401 without an API key; a Bearer key is passed on in x-api-key',
    });
    // `https://<id>.execute-api.<region>.amazonaws.com` → the host name.
    const apiHost = Fn.select(2, Fn.split('/', props.api.apiEndpoint));
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'WhatsApp gateway tenant API',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: new HttpOrigin(apiHost, { protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY }),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_ALL,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        // Every viewer header but Host (API Gateway routes on its own host name).
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        functionAssociations: [{ function: door, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
    });
    const acknowledge = (rule: string, reason: string) =>
      Validations.of(this.distribution).acknowledge({ id: rule, reason });
    acknowledge(
      'AwsSolutions-CFR1',
      'A tenant API for chatbot platforms anywhere: no country is excluded; every request needs an API key.',
    );
    acknowledge(
      'AwsSolutions-CFR2',
      'No WAF: the door function refuses keyless requests at the edge, the API has stage throttling and per-tenant limits; a WAF web ACL is a per-stage cost decision left to the operator.',
    );
    acknowledge(
      'AwsSolutions-CFR3',
      "Every request that passes the door is in the HTTP API's access log (JSON, with the tenant); refused ones are in CloudFront's metrics. Standard logs would need an ACL-enabled bucket.",
    );
    acknowledge(
      'AwsSolutions-CFR4',
      'The default CloudFront certificate (no custom domain yet) cannot pin a minimum TLS version; CloudFront negotiates TLS 1.2+ with current clients.',
    );
  }

  /** The public base URL of the API. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }
}
