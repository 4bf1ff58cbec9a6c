import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { API_KEY_HEADER, runApiKeyDoor } from '#functions/http/api-key-door.ts';
import { AUTHORIZER_ENTRY, ROUTES, type RouteDefinition } from '#functions/http/routes.ts';
import { runAsComponent } from '#shared/adapters/aws-call-context.ts';
import { lambdaContext } from './lambda-context.ts';

// A stand-in for the CloudFront door and API Gateway HTTP APIs (payload 2.0): the same door
// function refuses a request without a key, then each request becomes the event AWS would build,
// goes through the same authorizer, then to the same handler module as in Lambda.

type Handler = (event: unknown, context: Context) => Promise<unknown>;
const MAX_REQUEST_BYTES = 10 * 1024 * 1024; // API Gateway's own limit
const ROOT = join(import.meta.dirname, '..');

interface CompiledRoute {
  route: RouteDefinition;
  pattern: RegExp;
  params: string[];
}

const compile = (route: RouteDefinition): CompiledRoute => {
  const params: string[] = [];
  const source = route.path
    .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
    .replace(/\\?\{(\w+)\\?\}/g, (_m, name: string) => {
      params.push(name);
      return '([^/]+)';
    });
  return { route, pattern: new RegExp(`^${source}$`), params };
};

const readBody = (req: IncomingMessage): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

const isText = (type: string | undefined) =>
  !type || /^(text\/|application\/([\w.+-]+\+)?(json|xml)|application\/x-www-form-urlencoded)/i.test(type);

const headersOf = (req: IncomingMessage): Record<string, string> => {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
};

const toEvent = (
  req: IncomingMessage,
  headers: Record<string, string>,
  url: URL,
  body: Buffer,
  routeKey: string,
  pathParameters: Record<string, string>,
) => {
  const text = isText(headers['content-type']);
  const query = Object.fromEntries(url.searchParams);
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    ...(Object.keys(pathParameters).length > 0 && { pathParameters }),
    ...(body.length > 0 && { body: text ? body.toString('utf8') : body.toString('base64') }),
    isBase64Encoded: body.length > 0 && !text,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
  } as APIGatewayProxyEventV2;
};

const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

const writeResult = (res: ServerResponse, result: APIGatewayProxyResultV2) => {
  const r = typeof result === 'string' ? { statusCode: 200, body: result } : result;
  const body = r.body === undefined ? '' : r.isBase64Encoded ? Buffer.from(r.body, 'base64') : r.body;
  res.writeHead(r.statusCode ?? 200, r.headers as Record<string, string>);
  res.end(body);
};

export interface LocalApi {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves ROUTES on loopback through the real authorizer and handler modules. `extra` handles paths
 * that are not part of the tenant API (health, the dev page) before route matching.
 */
export const startLocalApi = async (options: {
  port: number;
  extra?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;
}): Promise<LocalApi> => {
  const load = async (entry: string): Promise<Handler> =>
    (await import(join(ROOT, entry))).handler as Handler;
  const authorizer = await load(AUTHORIZER_ENTRY);
  const routes = await Promise.all(
    ROUTES.map(async (r) => ({ ...compile(r), handler: await load(r.entry) })),
  );

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (options.extra && (await options.extra(req, res, url))) return;
      const door = runApiKeyDoor(headersOf(req));
      if ('statusCode' in door) {
        res.writeHead(door.statusCode, {
          'content-type': door.headers['content-type']?.value ?? 'text/plain',
        });
        res.end(door.body.data);
        return;
      }
      const headers = Object.fromEntries(Object.entries(door.headers).map(([name, h]) => [name, h.value]));
      const candidates = routes.filter((r) => r.pattern.test(url.pathname));
      const match = candidates.find((r) => r.route.method === req.method);
      if (!match) {
        const message = `No route for ${req.method} ${url.pathname}`;
        if (candidates.length === 0) send(res, 404, { error: { code: 'ROUTE_NOT_FOUND', message } });
        else {
          const allow = [...new Set(candidates.map((r) => r.route.method))].join(', ');
          send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message } }, { allow });
        }
        return;
      }
      const body = await readBody(req);
      if (!body) {
        send(res, 413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'Request too large' } });
        return;
      }
      const values = match.pattern.exec(url.pathname)?.slice(1) ?? [];
      const pathParameters = Object.fromEntries(
        match.params.map((p, i) => [p, decodeURIComponent(values[i] ?? '')]),
      );
      const routeKey = `${match.route.method} ${match.route.path}`;
      const event = toEvent(req, headers, url, body, routeKey, pathParameters);
      // Each Lambda runs as its own component, so the AWS calls it makes are checked against its role.
      const verdict = (await runAsComponent('authorizer', () =>
        authorizer(
          { ...event, type: 'REQUEST', identitySource: [headers[API_KEY_HEADER]] },
          lambdaContext('authorizer', 10_000),
        ),
      )) as {
        context?: Record<string, unknown>;
      };
      (event.requestContext as { authorizer?: unknown }).authorizer = { lambda: verdict.context ?? {} };
      const result = await runAsComponent(`route:${match.route.id}`, () =>
        match.handler(event, lambdaContext(match.route.id, 29_000)),
      );
      writeResult(res, result as APIGatewayProxyResultV2);
    } catch {
      // API Gateway answers a crashed integration with a bare 500; so do we, without internals.
      if (!res.headersSent) send(res, 500, { error: { code: 'INTERNAL', message: 'Internal error' } });
      else res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
};
