/**
 * esbuild plugins for the Lambda bundles that let esbuild drop the parts of the real AWS SDK
 * clients a function never reaches, without changing what the kept code does.
 *
 * A client's `schemas/schemas_0.js` declares every operation and structure of the service as
 * `export var X$ = [9, n0, _X, { [_h]: [...] }, ...]`. The computed keys (`[_h]`, with `_h` a
 * string constant of the same file) make esbuild treat each literal as possibly having side
 * effects, so it keeps all of them: the whole S3 model (about 60 KB) for one HEAD. Written as the
 * string literal they stand for, the keys are plain, and the schemas no path reaches drop out.
 * infra/bundle-sdk-trim.test.ts checks that every rewritten schema module exports the same values.
 *
 * The same module registers every modeled error of the service when it loads; only those our
 * adapters or the SDK's retries tell apart stay registered (infra/bundle-sdk-errors.ts says which
 * and why), so the other error classes drop out too.
 *
 * A client also imports its whole `package.json` (about 2.5 KB) for the version in its user agent;
 * the bundle gets the name and version only.
 *
 * The SDK's pure-JS SHA-256, SHA-1 and MD5 (about 7.5 KB) are the fallbacks its Node classes take
 * only when `node:crypto` lacks the algorithm, which the Lambda runtime's Node never does: the
 * bundle gets a class of the same name that fails with the reason if it is ever built. The same
 * for the adaptive retry mode and the instance-metadata region (infra/bundle-sdk-left-out.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Plugin } from 'esbuild';
import { keptErrors, withoutUnmappedErrors } from './bundle-sdk-errors.ts';
import {
  ADAPTIVE_RETRY_MODULE,
  adaptiveRetryModule,
  IMDS_REGION_MODULE,
  imdsRegionModule,
} from './bundle-sdk-left-out.ts';

/** A client's schema modules: `…/@aws-sdk/client-*\/dist-es/schemas/schemas_<n>.js`. */
const SCHEMA_MODULE = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;

/** A client's package.json, which its runtime config imports for `version`. */
const CLIENT_PACKAGE_JSON = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]package\.json$/;

/** The pure-JS hashes: @smithy/core's SHA-256 and MD5, @aws-sdk/checksums' SHA-1. */
const PURE_JS_HASH =
  /[\\/](?:@smithy[\\/]core[\\/]dist-es[\\/]submodules[\\/]checksum[\\/](?:sha256[\\/]Sha256Js|md5[\\/]Md5Js)|@aws-sdk[\\/]checksums[\\/]dist-es[\\/]submodules[\\/]sha[\\/]sha1[\\/]Sha1Js)\.js$/;

/** `const _h = "http";` at the top level of a schema module. */
const STRING_CONSTANT = /^const (_\w+) = ("(?:[^"\\\n]|\\.)*");$/gm;

/**
 * The schema module's source with each computed key `[_x]:` written as the string constant `_x`
 * holds (same object, same key); a key whose constant it cannot see stays as it is.
 */
export const inlineSchemaKeys = (source: string): string => {
  const constants = new Map<string, string>();
  for (const [, name, literal] of source.matchAll(STRING_CONSTANT))
    constants.set(name as string, literal as string);
  return source.replace(/\[(_\w+)\]:/g, (key, name: string) => {
    const literal = constants.get(name);
    return literal === undefined ? key : `${literal}:`;
  });
};

/** The fields of a client's package.json its code reads (`version`, for the user agent). */
export const clientPackageInfo = (json: string): string => {
  const { name, version } = JSON.parse(json) as { name: string; version: string };
  return JSON.stringify({ name, version });
};

/** Why a pure-JS hash cannot be built in a Lambda bundle. */
export const PURE_JS_HASH_LEFT_OUT =
  'left out of the Lambda bundles (infra/bundle-sdk-trim.ts): node:crypto has every hash the SDK uses';

/** The module that stands in for the pure-JS hash class `name` (the one export of its module). */
export const leftOutHashModule = (name: string): string =>
  `export class ${name} { constructor() { throw new Error(${JSON.stringify(`${name} is ${PURE_JS_HASH_LEFT_OUT}`)}); } }\n`;

/** A client's schema module as the bundles take it: plain keys, only the errors we tell apart registered. */
export const trimSchemaModule = (path: string): string => {
  const source = readFileSync(path, 'utf8');
  const errors = join(path, '../../models/errors.js');
  const keep = keptErrors(source, existsSync(errors) ? readFileSync(errors, 'utf8') : '');
  return inlineSchemaKeys(withoutUnmappedErrors(source, keep));
};

/** The plugin the Lambda bundles are built with (infra/bundle-lambda.ts). */
export const sdkTrimPlugin: Plugin = {
  name: 'sdk-trim',
  setup(build) {
    build.onLoad({ filter: SCHEMA_MODULE }, ({ path }) => ({
      contents: trimSchemaModule(path),
      loader: 'js',
    }));
    build.onLoad({ filter: PURE_JS_HASH }, ({ path }) => ({
      contents: leftOutHashModule(basename(path, '.js')),
      loader: 'js',
    }));
    build.onLoad({ filter: ADAPTIVE_RETRY_MODULE }, () => ({
      contents: adaptiveRetryModule(),
      loader: 'js',
    }));
    build.onLoad({ filter: IMDS_REGION_MODULE }, () => ({ contents: imdsRegionModule(), loader: 'js' }));
    build.onLoad({ filter: CLIENT_PACKAGE_JSON }, ({ path }) => ({
      contents: clientPackageInfo(readFileSync(path, 'utf8')),
      loader: 'json',
    }));
  },
};
