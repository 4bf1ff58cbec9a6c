/**
 * The project's zod: `zod/mini` with zod's English messages. Import it as a namespace
 * (`import * as z from '#shared/zod.ts'`), never `zod` or `zod/mini` directly.
 *
 * Why mini: its schemas are plain functions (`z.optional(s)`, `s.check(z.minLength(1))`), so a
 * bundle carries only the kinds and checks it uses; classic zod's method-laden classes were about
 * 95 KB of every Lambda. Why here: mini loads no locale, so every issue would read "Invalid input",
 * while the API's 400 details and the config errors show zod's English messages. This module is the
 * one file package.json lists under `sideEffects`, so bundlers keep the `config` call below.
 * Why a namespace: `export { z }` (zod's own namespace object) makes esbuild keep all of zod and
 * its 60 locales; `export *` lets it tree-shake.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
