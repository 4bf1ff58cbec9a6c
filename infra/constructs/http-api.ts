import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, type HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_KEY_HEADER } from '#functions/http/api-key-door.ts';
import { routeEnv } from '#functions/http/route-env.ts';
import type { RouteDefinition } from '#functions/http/routes.ts';
import { AuthorizerEnv } from '#shared/config.ts';
import { ApiEdge } from './api-edge.ts';
import { AppFunction } from './app-function.ts';

export interface GatewayHttpApiProps {
  routes: RouteDefinition[];
  authorizerEntry: string;
  /** Powertools service names of the route handlers and of the authorizer. */
  serviceNames: { api: string; authorizer: string };
  logRetention: RetentionDays;
  logRemovalPolicy: RemovalPolicy;
  /** Stage throttling, requests per second and burst. */
  rateLimit: number;
  burstLimit: number;
  /** Gives the authorizer what AuthorizerEnv names (the tenants table). */
  bindAuthorizer: (fn: AppFunction) => void;
  /** Gives a route handler the resources its route declares (and their env keys, see routeEnv). */
  bindRoute: (fn: AppFunction, route: RouteDefinition) => void;
}

/** One access-log line per request, as JSON; the request id ties it to the Lambda logs. */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  tenantId: '$context.authorizer.tenantId',
});

/**
 * The tenant HTTP API: every route of ROUTES with its own Lambda behind one Lambda authorizer,
 * and a CloudFront door in front (ApiEdge). The authorizer's identity source is `x-api-key`:
 * a request without it gets 401 from API Gateway and never invokes a Lambda (through the door,
 * whose function also turns a Bearer key into `x-api-key`, it gets the contract's 401 at the edge).
 * Nothing is cached, so a revoked key or a disabled tenant is refused on the next request. The
 * authorizer answers with simple responses and always allows, passing `{ tenantId }` (empty when
 * the key is unknown); the handler answers 401 in the contract's error shape, which an HTTP API
 * denial could not.
 */
export class GatewayHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly authorizer: AppFunction;
  readonly routeFunctions: Map<string, AppFunction> = new Map();
  readonly accessLogs: LogGroup;
  readonly edge: ApiEdge;

  constructor(scope: Construct, id: string, props: GatewayHttpApiProps) {
    super(scope, id);
    const logs = { logRetention: props.logRetention, logRemovalPolicy: props.logRemovalPolicy };

    this.authorizer = new AppFunction(this, 'Authorizer', {
      entry: props.authorizerEntry,
      description: 'WhatsApp gateway: API key authorizer',
      serviceName: props.serviceNames.authorizer,
      envSchema: AuthorizerEnv,
      memorySize: 256,
      timeout: Duration.seconds(5),
      ...logs,
    });
    props.bindAuthorizer(this.authorizer);
    this.authorizer.addSchemaDefaults();

    const authorizer = new HttpLambdaAuthorizer('ApiKeyAuthorizer', this.authorizer.function, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: [`$request.header.${API_KEY_HEADER}`],
      // No cache: key revocation and tenant disabling take effect on the next request.
      resultsCacheTtl: Duration.seconds(0),
    });

    this.api = new HttpApi(this, 'Api', {
      description: 'WhatsApp gateway tenant API',
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    this.stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });

    for (const route of props.routes) {
      const fn = new AppFunction(this, route.id, {
        entry: route.entry,
        description: `WhatsApp gateway: ${route.method} ${route.path}`,
        serviceName: props.serviceNames.api,
        envSchema: routeEnv(route),
        ...logs,
      });
      props.bindRoute(fn, route);
      fn.addSchemaDefaults();
      this.routeFunctions.set(route.id, fn);
      this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.id}Integration`, fn.function),
      });
    }
    this.edge = new ApiEdge(this, 'Edge', { api: this.api });
  }

  /** The public base URL of the API (the CloudFront door). */
  get url(): string {
    return this.edge.url;
  }

  /** The invoke URL of the default stage (behind the door; it needs `x-api-key`). */
  get executeApiUrl(): string {
    // biome-ignore lint/style/noNonNullAssertion: a named stage always has a URL
    return this.stage.url!;
  }
}
