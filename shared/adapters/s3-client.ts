import { S3Client } from '@aws-sdk/client-s3';
import type { EndpointConfig } from '../config.ts';
import { assertLoopbackEndpoint, prepareClient, REQUEST_TIMEOUTS } from './aws-client-defaults.ts';

/** The S3 client: AWS itself, or the local stand-in (path-style) when `S3_ENDPOINT` is set. */
export const createS3Client = (config: EndpointConfig, options: { component?: string } = {}): S3Client => {
  assertLoopbackEndpoint('S3', config.S3_ENDPOINT);
  return prepareClient(
    new S3Client({
      requestHandler: REQUEST_TIMEOUTS.s3,
      ...(config.S3_ENDPOINT && {
        endpoint: config.S3_ENDPOINT,
        forcePathStyle: true,
        // The file-backed stand-in (s3rver) corrupts streamed uploads with the SDK's default checksums.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    }),
    options.component,
  );
};
