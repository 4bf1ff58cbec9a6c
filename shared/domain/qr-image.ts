import QRCode from 'qrcode';

const OPTIONS = { errorCorrectionLevel: 'M', margin: 2, width: 300 } as const;

/** Renders the QR string a phone scans; the string itself is a credential and is never logged. */
export const qrToPng = (qr: string): Promise<Buffer> => QRCode.toBuffer(qr, { ...OPTIONS, type: 'png' });
export const qrToPngDataUrl = async (qr: string): Promise<string> =>
  `data:image/png;base64,${(await qrToPng(qr)).toString('base64')}`;
export const qrToSvg = (qr: string): Promise<string> => QRCode.toString(qr, { ...OPTIONS, type: 'svg' });
/** The QR as text for a terminal (the local stack prints it when a session waits for a scan). */
export const qrToTerminal = (qr: string): Promise<string> =>
  QRCode.toString(qr, { type: 'terminal', small: true, errorCorrectionLevel: 'L' });
