import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';

/** The credentials s3rver insists on; the local stack gives them to every process it starts. */
export const LOCAL_AWS_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

/** A file-backed S3 stand-in (s3rver), so auth state survives restarts of the local stack. */
export const startS3Local = async (options: { directory: string; buckets: string[]; port?: number }) => {
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    port: options.port ?? 0,
    address: '127.0.0.1',
    directory: options.directory,
    silent: true,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  const { port } = await server.run();
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => server.close() };
};
