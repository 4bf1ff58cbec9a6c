import { lookup as dnsLookup } from 'node:dns/promises';
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressResolver, ResolvedAddress } from '../ports/address-resolver.ts';
import type { WebhookRequest, WebhookResponse, WebhookSender } from '../ports/webhook-delivery.ts';

/** The system resolver (getaddrinfo), every address of the name. */
export const systemAddressResolver: AddressResolver = {
  resolve: async (hostname) => {
    const answers = await dnsLookup(hostname, { all: true, verbatim: true });
    return answers.map((a): ResolvedAddress => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  },
};

/** A lookup that answers only the vetted address: the name is never resolved a second time. */
const pinnedLookup =
  (pinned: ResolvedAddress): LookupFunction =>
  (_hostname, options, callback) => {
    if (options.all) {
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
        { address: pinned.address, family: pinned.family },
      ]);
    } else {
      callback(null, pinned.address, pinned.family);
    }
  };

/**
 * A request to a vetted URL with Node's http/https: the connection goes to the vetted address while
 * the URL's host name stays the Host header and the TLS server name (so the certificate is checked
 * against the name); no connection is reused and no redirect followed. `ca`: trusted roots instead
 * of Node's (tests with a certificate of their own).
 */
export const pinnedRequest = (
  url: URL,
  address: ResolvedAddress,
  options: Pick<RequestOptions, 'method' | 'headers' | 'timeout'> & { ca?: string },
  onResponse: (res: IncomingMessage) => void,
): ClientRequest => {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const { ca, ...rest } = options;
  return send(
    {
      ...rest,
      protocol: url.protocol,
      hostname,
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      agent: false,
      lookup: pinnedLookup(address),
      // SNI must be a name, never an IP literal.
      ...(url.protocol === 'https:' && isIP(hostname) === 0 && { servername: hostname }),
      ...(ca && { ca }),
    },
    onResponse,
  );
};

/**
 * POSTs webhooks to the vetted address ({@link pinnedRequest}). The response body is never read:
 * the status is all that is kept. The whole exchange is bounded by `timeoutMs`.
 */
export class NodeWebhookSender implements WebhookSender {
  /** `ca`: trusted roots instead of Node's (tests with a certificate of their own). */
  constructor(private readonly options: { ca?: string } = {}) {}

  send(req: WebhookRequest): Promise<WebhookResponse> {
    return new Promise<WebhookResponse>((resolve) => {
      let settled = false;
      let client: ClientRequest | undefined;
      const finish = (result: WebhookResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client?.destroy();
        resolve(result);
      };
      const timer = setTimeout(
        () => finish({ error: `no answer within ${req.timeoutMs} ms` }),
        req.timeoutMs,
      );
      const headers = {
        ...req.headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(req.body)),
        'user-agent': 'whatsapp-qr-gateway-webhooks/1',
      };
      client = pinnedRequest(
        req.url,
        req.address,
        { method: 'POST', headers, ca: this.options.ca },
        (res) => {
          const status = res.statusCode ?? 0;
          res.destroy(); // the body is never read, so it can never be logged
          finish({ status });
        },
      );
      client.on('error', (error: NodeJS.ErrnoException) =>
        finish({ error: `request failed: ${error.code ?? error.message}` }),
      );
      client.end(req.body);
    });
  }
}
