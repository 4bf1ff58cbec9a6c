import { qrToPng, qrToPngDataUrl, qrToSvg } from '#shared/domain/qr-image.ts';
import { getQrCode } from '#shared/use-cases/sessions.ts';
import { httpRoute } from './http-route.ts';
import { GetQrCodeRoute } from './routes.ts';

const wantsPng = (accept: string | undefined) => /^\s*image\/png\b/i.test(accept ?? '');

/** GET /whatsapp-qr/qr-code/{sessionId} — JSON with a PNG data URL; the PNG itself for `Accept: image/png`; `?format=svg`. */
export const handler = httpRoute(GetQrCodeRoute, async (request) => {
  const { session, qr, expiresAt } = await getQrCode(
    request.deps,
    request.tenantId,
    request.params.sessionId,
  );
  const format = request.query.format ?? (wantsPng(request.rawHeaders.accept) ? 'png' : 'json');
  if (format === 'png') return { status: 200, binary: await qrToPng(qr), contentType: 'image/png' };
  if (format === 'svg') return { status: 200, text: await qrToSvg(qr), contentType: 'image/svg+xml' };
  return {
    status: 200,
    json: {
      sessionId: session.sessionId,
      status: session.status,
      qr,
      qrCode: await qrToPngDataUrl(qr),
      expiresAt,
    },
  };
});
