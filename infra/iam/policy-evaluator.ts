/**
 * A small IAM identity-policy evaluator: explicit Deny wins, then any Allow, else the implicit deny.
 * It covers what the project's templates use (Action/NotAction, Resource/NotResource, `*` and `?`
 * wildcards). A statement with a Condition is never counted as an Allow (we cannot prove the
 * condition holds) nor as a Deny (the project's conditions are on KMS-via-S3 and TLS, which the
 * checked calls meet), so a grant that only works under a condition shows up as a refusal.
 */

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, unknown>;
  Sid?: string;
}

export type Decision = 'allowed' | 'explicitDeny' | 'implicitDeny';

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

const globToRegExp = (pattern: string, caseInsensitive: boolean): RegExp =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    caseInsensitive ? 'i' : '',
  );

/** IAM matching: actions are case-insensitive, resources (ARNs) are not. */
export const matchesAction = (pattern: string, action: string): boolean =>
  globToRegExp(pattern, true).test(action);
export const matchesResource = (pattern: string, arn: string): boolean =>
  globToRegExp(pattern, false).test(arn);

const applies = (statement: PolicyStatement, action: string, arn: string): boolean => {
  const actionHit = statement.NotAction
    ? !list(statement.NotAction).some((p) => matchesAction(p, action))
    : list(statement.Action).some((p) => matchesAction(p, action));
  if (!actionHit) return false;
  return statement.NotResource
    ? !list(statement.NotResource).some((p) => matchesResource(p, arn))
    : list(statement.Resource).some((p) => matchesResource(p, arn));
};

/** Whether the statements (all identity policies of one role) allow `action` on `arn`. */
export const evaluate = (statements: PolicyStatement[], action: string, arn: string): Decision => {
  const unconditional = statements.filter((s) => s.Condition === undefined);
  if (unconditional.some((s) => s.Effect === 'Deny' && applies(s, action, arn))) return 'explicitDeny';
  if (unconditional.some((s) => s.Effect === 'Allow' && applies(s, action, arn))) return 'allowed';
  return 'implicitDeny';
};
