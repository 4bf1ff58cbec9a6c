import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/paths.ts';
import { integrationTestFiles } from './test-projects.ts';
import { SLOW_FILES } from './test-sequencer.ts';

describe('longest-first test order', () => {
  it('names only integration files that exist, each once (a renamed slow file would fall back to size order)', () => {
    const integration = integrationTestFiles(REPO_ROOT);
    expect(SLOW_FILES.filter((file) => !integration.includes(file))).toEqual([]);
    expect(new Set(SLOW_FILES).size).toBe(SLOW_FILES.length);
  });
});
