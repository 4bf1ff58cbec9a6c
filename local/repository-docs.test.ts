import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// The documents the code points to travel with it: everything a file refers to is in `docs/`.

const ROOT = join(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', '.git', 'cdk.out', '.data']);

/** The repository's files: what git tracks, or (outside a checkout) the tree without build output. */
const repositoryFiles = (): string[] => {
  try {
    return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter(Boolean);
  } catch {
    const walk = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        if (SKIP.has(name)) return [];
        const path = join(dir, name);
        return statSync(path).isDirectory() ? walk(path) : [relative(ROOT, path)];
      });
    return walk(ROOT);
  }
};

const textFiles = () =>
  repositoryFiles()
    .filter((file) => existsSync(join(ROOT, file)) && !/\.(png|jpe?g|gif|ico|jar|woff2?)$/.test(file))
    .map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }));

describe('documents the repository refers to', () => {
  it('names no design, toolchain or protocol note that lives outside the repository', () => {
    const outside = /\b(DESIGN\.md|TOOLCHAIN\.md|WA-SIMULATOR\.md|STYLE\.md)\b/;
    const offenders = textFiles()
      .filter(({ file, text }) => file !== 'local/repository-docs.test.ts' && outside.test(text))
      .map(({ file }) => file);
    expect(offenders).toEqual([]);
  });

  it('points only to files of docs/ that exist', () => {
    const missing = textFiles().flatMap(({ file, text }) =>
      [...text.matchAll(/\bdocs\/([\w.-]+\.md)\b/g)]
        .map((m) => `docs/${m[1]}`)
        .filter((doc) => !existsSync(join(ROOT, doc)))
        .map((doc) => `${file} → ${doc}`),
    );
    expect(missing).toEqual([]);
    expect(existsSync(join(ROOT, 'docs/architecture.md'))).toBe(true);
  });
});
