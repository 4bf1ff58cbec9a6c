import type { IncomingMessage, ServerResponse } from 'node:http';
import { BufferJSON } from '@whiskeysockets/baileys';
import { z } from 'zod';
import { SimulatorError } from './errors.ts';
import type { Simulator } from './index.ts';
import { DISCONNECT_CODES } from './stream-errors.ts';

// Room for a file of 16 MiB in base64 (`POST /contacts/{contact}/send` with `media`).
const MAX_BODY_BYTES = 24 * 1024 * 1024;

type Handler = (params: string[], body: unknown) => unknown;

const scanBody = z.object({ qr: z.string().min(1) });
const codeBody = z.object({ code: z.string().min(1) });
const mediaBody = z.object({
  base64: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9+/=\s]+$/, 'base64'),
  mimeType: z.string().regex(/^[\w.+-]+\/[\w.+-]+(;.*)?$/, 'a MIME type'),
  fileName: z.string().min(1).max(255).optional(),
  caption: z.string().min(1).max(1024).optional(),
});
// A text, or a file (with an optional caption): exactly one of them.
const sendBody = z.union([
  z.object({ to: z.string().regex(/^\+?\d+$/), text: z.string().min(1).max(65_536) }).strict(),
  z.object({ to: z.string().regex(/^\+?\d+$/), media: mediaBody }).strict(),
]);
// One message by id, or (docs/whatsapp-simulator.md) everything received from the linked number `from`.
const readBody = z.union([
  z.object({ id: z.string().min(1) }),
  z.object({ from: z.string().regex(/^\+?\d+$/) }),
]);
const disconnectBody = z.object({ code: z.union(DISCONNECT_CODES.map((code) => z.literal(code))) });

/**
 * The control API (docs/whatsapp-simulator.md, "Control API") over the given simulator. Bad input
 * answers 400, an unknown route 404, always as `{ error: { code, message } }`.
 */
export function createControlApi(
  sim: Simulator,
): (request: IncomingMessage, response: ServerResponse) => void {
  const routes: Array<[method: string, path: RegExp, handler: Handler]> = [
    ['GET', /^\/root-key$/, () => ({ publicKey: sim.rootPublicKeyHex })],
    ['GET', /^\/stats$/, () => sim.stats()],
    ['POST', /^\/phones\/([^/]+)\/scan$/, ([phone = ''], body) => sim.scanQr(phone, scanBody.parse(body).qr)],
    [
      'POST',
      /^\/phones\/([^/]+)\/pairing-code$/,
      ([phone = ''], body) => sim.enterPairingCode(phone, codeBody.parse(body).code),
    ],
    [
      'POST',
      /^\/phones\/([^/]+)\/disconnect$/,
      ([phone = ''], body) => ({ connections: sim.disconnect(phone, disconnectBody.parse(body).code) }),
    ],
    // Test fixture: a device linked without QR. The answer holds private keys; loopback only.
    [
      'POST',
      /^\/phones\/([^/]+)\/paired-credentials$/,
      ([phone = '']) => ({ creds: sim.createPairedCredentials(phone) }),
    ],
    [
      'POST',
      /^\/contacts\/([^/]+)\/send$/,
      ([contact = ''], body) => {
        const send = sendBody.parse(body);
        const to = send.to.replace('+', '');
        if ('text' in send) return sim.sendText(contact, to, send.text);
        const { base64, mimeType, fileName, caption } = send.media;
        return sim.sendMedia(contact, to, {
          bytes: Buffer.from(base64, 'base64'),
          mimeType,
          fileName,
          caption,
        });
      },
    ],
    [
      'POST',
      /^\/contacts\/([^/]+)\/read$/,
      ([contact = ''], body) => {
        const read = readBody.parse(body);
        if ('id' in read) {
          sim.markRead(contact, read.id);
          return { ok: true, read: 1 };
        }
        return { ok: true, read: sim.markReadFrom(contact, read.from) };
      },
    ],
    ['GET', /^\/contacts\/([^/]+)\/inbox$/, ([contact = '']) => sim.inbox(contact)],
    ['GET', /^\/contacts\/([^/]+)\/sent$/, ([contact = '']) => sim.sent(contact)],
  ];

  return (request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const matching = routes.filter(([, pattern]) => pattern.test(path));
    const route = matching.find(([method]) => method === request.method);
    if (!route) {
      const [status, code] = matching.length ? [405, 'METHOD_NOT_ALLOWED'] : [404, 'NOT_FOUND'];
      send(response, status, errorBody(code, `no route ${request.method} ${path}`));
      return;
    }
    const [, pattern, handler] = route;
    const params = (pattern.exec(path) ?? []).slice(1).map(decodeURIComponent);
    readJson(request)
      .then((body) => handler(params, body))
      .then((result) => send(response, 200, result))
      .catch((error: unknown) => {
        const [status, body] = toErrorResponse(error);
        send(response, status, body);
      });
  };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SimulatorError('BODY_TOO_LARGE', 'the body is over 24 MiB', 413);
    chunks.push(chunk as Buffer);
  }
  if (!size) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf-8'));
  } catch {
    throw new SimulatorError('INVALID_JSON', 'the body is not JSON');
  }
}

function toErrorResponse(error: unknown): [number, unknown] {
  if (error instanceof SimulatorError) return [error.status, errorBody(error.code, error.message)];
  if (error instanceof z.ZodError) {
    const message = error.issues
      .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
      .join('; ');
    return [400, errorBody('INVALID_INPUT', message)];
  }
  return [500, errorBody('INTERNAL', 'the simulator failed')];
}

function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body, BufferJSON.replacer);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(json),
  });
  response.end(json);
}
