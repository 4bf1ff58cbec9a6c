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
 * A client also imports its whole `package.json` (about 2.5 KB) for the version in its user agent;
 * the bundle gets the name and version only.
 */
import { readFileSync } from 'node:fs';
import type { Plugin } from 'esbuild';

/** A client's schema modules: `…/@aws-sdk/client-*\/dist-es/schemas/schemas_<n>.js`. */
const SCHEMA_MODULE = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;

/** A client's package.json, which its runtime config imports for `version`. */
const CLIENT_PACKAGE_JSON = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]package\.json$/;

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

/** The plugin the Lambda bundles are built with (infra/bundle-lambda.ts). */
export const sdkTrimPlugin: Plugin = {
  name: 'sdk-trim',
  setup(build) {
    build.onLoad({ filter: SCHEMA_MODULE }, ({ path }) => ({
      contents: inlineSchemaKeys(readFileSync(path, 'utf8')),
      loader: 'js',
    }));
    build.onLoad({ filter: CLIENT_PACKAGE_JSON }, ({ path }) => ({
      contents: clientPackageInfo(readFileSync(path, 'utf8')),
      loader: 'json',
    }));
  },
};
