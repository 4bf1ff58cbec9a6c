import { createS3Client } from '#shared/adapters/s3-client.ts';
import { S3MediaStore } from '#shared/adapters/s3-media-store.ts';
import { loadConfig } from '#shared/config.ts';
import type { MediaStore } from '#shared/ports/media-store.ts';
import { routeEnv } from './route-env.ts';
import type { RouteDefinition } from './routes.ts';

// Apart from route-deps.ts so that only the media route's bundle holds the S3 client.

let store: MediaStore | undefined;

/** The media store of a route that declares `media: 'read'`, built on its first call. */
export const mediaStoreOf = (route: RouteDefinition): MediaStore => {
  if (route.resources.media !== 'read') throw new Error(`route ${route.id} declares no media access`);
  if (!store) {
    const config = loadConfig(routeEnv(route)) as { AUTH_STATE_BUCKET: string; S3_ENDPOINT?: string };
    store = new S3MediaStore(createS3Client(config), config.AUTH_STATE_BUCKET);
  }
  return store;
};
