import { createS3Client } from '#shared/adapters/s3-client.ts';
import { S3MediaStore } from '#shared/adapters/s3-media-store.ts';
import { loadConfig } from '#shared/config.ts';
import type { MediaStore } from '#shared/ports/media-store.ts';
import { routeEnv } from './route-env.ts';
import type { RouteDefinition } from './routes.ts';

// Apart from route-deps.ts so that only the bundles of routes that declare media hold the S3 client.

let store: MediaStore | undefined;

type MediaConfig = { AUTH_STATE_BUCKET: string; S3_ENDPOINT?: string; WEBHOOK_ALLOW_LOOPBACK?: boolean };
/** Per route: the local API serves every route in one process, each with its own environment. */
const configs = new Map<string, MediaConfig>();

/** The route's configuration, read once per container (not on every request). */
const mediaConfig = (route: RouteDefinition): MediaConfig => {
  let config = configs.get(route.id);
  if (!config) {
    config = loadConfig(routeEnv(route)) as MediaConfig;
    configs.set(route.id, config);
  }
  return config;
};

/** The media store of a route that declares `media` access, built on its first call. */
export const mediaStoreOf = (route: RouteDefinition): MediaStore => {
  if (!route.resources.media) throw new Error(`route ${route.id} declares no media access`);
  if (!store) {
    const config = mediaConfig(route);
    store = new S3MediaStore(createS3Client(config), config.AUTH_STATE_BUCKET);
  }
  return store;
};

/** Whether a tenant's media URL may point to this machine: the local stack only (never set in AWS). */
export const mediaUrlAllowLoopbackOf = (route: RouteDefinition): boolean =>
  mediaConfig(route).WEBHOOK_ALLOW_LOOPBACK === true;
