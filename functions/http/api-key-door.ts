/**
 * The door of the tenant API, run before anything that costs: a CloudFront Function (viewer
 * request) in AWS, the local API gateway on one machine. The contract accepts the key as
 * `Authorization: Bearer <key>` or as `x-api-key: <key>`, but an HTTP API identity source needs
 * every listed source present, so it can name only one header: the door copies a Bearer key into
 * `x-api-key` (the authorizer's identity source, and a header CloudFront forwards on every method)
 * and answers a request that carries neither itself, with 401 in the contract's error shape, so it
 * never reaches the API's stage throttle nor invokes a Lambda.
 *
 * Plain ES5 on purpose: the same source runs in CloudFront's `cloudfront-js-2.0` runtime.
 */
export const API_KEY_DOOR_SOURCE = `function handler(event) {
  var request = event.request;
  var headers = request.headers;
  var bearer = headers.authorization ? /^Bearer\\s+(\\S+)\\s*$/i.exec(headers.authorization.value) : null;
  if (bearer) headers['x-api-key'] = { value: bearer[1] };
  var key = headers['x-api-key'] ? headers['x-api-key'].value.trim() : '';
  if (key) return request;
  return {
    statusCode: 401,
    statusDescription: 'Unauthorized',
    headers: { 'content-type': { value: 'application/json' } },
    body: {
      encoding: 'text',
      data: '{"error":{"code":"UNAUTHORIZED","message":"An API key is required (Authorization: Bearer <key> or x-api-key)"}}'
    }
  };
}`;

/** The header the HTTP API authorizer's identity source names (lower case, as the door sets it). */
export const API_KEY_HEADER = 'x-api-key';

type DoorHeaders = Record<string, { value: string }>;
export type DoorResult =
  | { headers: DoorHeaders }
  | { statusCode: number; headers: DoorHeaders; body: { encoding: 'text'; data: string } };

/** Runs the door on a request's headers (lower-case names), as CloudFront would. */
let door: ((event: unknown) => DoorResult) | undefined;
export const runApiKeyDoor = (headers: Record<string, string>): DoorResult => {
  door ??= new Function(`${API_KEY_DOOR_SOURCE}; return handler;`)() as (event: unknown) => DoorResult;
  const request = {
    headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, { value }])),
  };
  return door({ request });
};
