import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/paths.ts';
import { integrationLanes, integrationTestFiles } from './test-projects.ts';

describe('test projects', () => {
  const integration = integrationTestFiles(REPO_ROOT);

  it('puts a test that needs the stand-ins in the integration project, also through a helper it imports', () => {
    // Calls inject() itself.
    expect(integration).toContain('shared/adapters/object-store.contract.test.ts');
    // Through session-runner/testing/runner-harness.ts → shared/testing/aws-test-env.ts.
    expect(integration).toContain('session-runner/runner-process.test.ts');
  });

  it('puts a test that starts heavy work itself (esbuild over the app, CloudFormation validation) there too', () => {
    expect(integration).toEqual(expect.arrayContaining(['infra/bundling.test.ts', 'infra/nag.test.ts']));
  });

  it('puts a test that links real Baileys sockets to the WhatsApp simulator there too', () => {
    expect(integration).toEqual(
      expect.arrayContaining([
        'local/simulator/linking.test.ts',
        'session-runner/auth-state/keys-before-wire.test.ts',
      ]),
    );
  });

  it('leaves tests on fakes and template assertions to the unit project', () => {
    for (const unit of [
      'functions/http/route-table.test.ts',
      'shared/use-cases/sessions.test.ts',
      'infra/stacks/stateless-stack.test.ts',
      'local/stand-ins/test-projects.test.ts',
    ]) {
      expect(integration).not.toContain(unit);
    }
  });
});

describe('integration lanes', () => {
  it('runs three integration files at once on an idle 2-core machine and two on one twice as busy as its cores', () => {
    expect(integrationLanes(2, 0.4, Number.NaN)).toBe(3);
    expect(integrationLanes(2, 3.9, Number.NaN)).toBe(3);
    expect(integrationLanes(2, 4, Number.NaN)).toBe(2);
    expect(integrationLanes(2, 15, Number.NaN)).toBe(2);
  });

  it('gives a larger machine one file per core when idle and one fewer when busy', () => {
    expect(integrationLanes(8, 1, Number.NaN)).toBe(8);
    expect(integrationLanes(8, 16, Number.NaN)).toBe(7);
  });

  it('takes INTEGRATION_MAX_WORKERS as it is when set, whatever the load', () => {
    expect(integrationLanes(2, 0, 1)).toBe(1);
    expect(integrationLanes(2, 20, 4)).toBe(4);
  });
});
