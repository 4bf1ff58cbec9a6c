import { fileURLToPath } from 'node:url';

/** The repository root: the project root of every Lambda bundle and the runner image's build context. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
