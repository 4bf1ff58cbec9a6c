/**
 * Resolves CloudFormation intrinsics in the synthesized templates to concrete strings, in a fake
 * account and region, so that IAM statements can be evaluated offline. A resource's physical name
 * is its logical id (tables, queues, buckets, keys are named after it), which is how recorded
 * calls are mapped to it (see conformance.ts).
 */

export const FAKE_ACCOUNT = '123456789012';
export const FAKE_REGION = 'eu-west-1';

export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown } }>;
}

export class UnresolvableError extends Error {}

/** The fake ARN of a resource of the given type and logical id. */
export const arnOf = (type: string, logicalId: string): string => {
  switch (type) {
    case 'AWS::DynamoDB::Table':
      return `arn:aws:dynamodb:${FAKE_REGION}:${FAKE_ACCOUNT}:table/${logicalId}`;
    case 'AWS::SQS::Queue':
      return `arn:aws:sqs:${FAKE_REGION}:${FAKE_ACCOUNT}:${logicalId}`;
    case 'AWS::S3::Bucket':
      return `arn:aws:s3:::${logicalId.toLowerCase()}`;
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${FAKE_REGION}:${FAKE_ACCOUNT}:key/${logicalId}`;
    case 'AWS::IAM::ManagedPolicy':
      return `arn:aws:iam::${FAKE_ACCOUNT}:policy/${logicalId}`;
    default:
      return `arn:aws:${type.split('::')[1]?.toLowerCase()}:${FAKE_REGION}:${FAKE_ACCOUNT}:${logicalId}`;
  }
};

const refOf = (type: string, logicalId: string): string => {
  switch (type) {
    case 'AWS::SQS::Queue':
      return `https://sqs.${FAKE_REGION}.amazonaws.com/${FAKE_ACCOUNT}/${logicalId}`;
    case 'AWS::S3::Bucket':
      return logicalId.toLowerCase();
    case 'AWS::IAM::ManagedPolicy':
      return arnOf(type, logicalId);
    default:
      return logicalId;
  }
};

const PSEUDO: Record<string, string> = {
  'AWS::Region': FAKE_REGION,
  'AWS::AccountId': FAKE_ACCOUNT,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Resolves values of a set of templates (a stack and the stacks it imports from). */
export class TemplateResolver {
  private readonly exports = new Map<string, { value: unknown; template: CfnTemplate }>();

  constructor(templates: CfnTemplate[]) {
    for (const template of templates) {
      for (const output of Object.values(template.Outputs ?? {})) {
        const name = output.Export?.Name;
        if (typeof name === 'string') this.exports.set(name, { value: output.Value, template });
      }
    }
  }

  /** A value of `template` as a string; throws UnresolvableError on what it cannot resolve. */
  resolve(value: unknown, template: CfnTemplate): string {
    if (typeof value === 'string') return value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UnresolvableError(`cannot resolve ${JSON.stringify(value)}`);
    }
    const [fn, arg] = Object.entries(value)[0] ?? [];
    switch (fn) {
      case 'Ref': {
        const name = arg as string;
        if (PSEUDO[name]) return PSEUDO[name];
        const resource = template.Resources[name];
        if (!resource) throw new UnresolvableError(`Ref to unknown ${name}`);
        return refOf(resource.Type, name);
      }
      case 'Fn::GetAtt': {
        const [name, attribute] = (typeof arg === 'string' ? arg.split('.') : arg) as [string, string];
        const resource = template.Resources[name];
        if (!resource) throw new UnresolvableError(`GetAtt of unknown ${name}`);
        if (attribute === 'Arn') return arnOf(resource.Type, name);
        if (attribute === 'QueueName') return name;
        if (attribute === 'QueueUrl') return refOf(resource.Type, name);
        return `${name}.${attribute}`;
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return parts.map((p) => this.resolve(p, template)).join(separator);
      }
      case 'Fn::Select': {
        const [index, items] = arg as [number, unknown];
        const values = Array.isArray(items)
          ? items.map((i) => this.resolve(i, template))
          : this.list(items, template);
        return values[Number(index)] ?? '';
      }
      case 'Fn::ImportValue': {
        const name = this.resolve(arg, template);
        const exported = this.exports.get(name);
        if (!exported) throw new UnresolvableError(`no export ${name}`);
        return this.resolve(exported.value, exported.template);
      }
      default:
        throw new UnresolvableError(`unsupported ${fn}`);
    }
  }

  private list(value: unknown, template: CfnTemplate): string[] {
    const [fn, arg] = Object.entries(value as object)[0] ?? [];
    if (fn === 'Fn::Split') {
      const [separator, source] = arg as [string, unknown];
      return this.resolve(source, template).split(separator);
    }
    throw new UnresolvableError(`unsupported list ${fn}`);
  }

  /** Resolves a value that may be a list (a statement's Action or Resource). */
  resolveAll(value: unknown, template: CfnTemplate): string[] {
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]).map((v) => this.resolve(v, template));
  }

  /** The template and logical id an imported value (or a Ref in `template`) points at. */
  target(value: unknown, template: CfnTemplate): { template: CfnTemplate; logicalId: string } | undefined {
    if (typeof value !== 'object' || value === null) return undefined;
    const [fn, arg] = Object.entries(value)[0] ?? [];
    if (fn === 'Ref' && typeof arg === 'string' && template.Resources[arg])
      return { template, logicalId: arg };
    if (fn === 'Fn::ImportValue') {
      const exported = this.exports.get(this.resolve(arg, template));
      return exported ? this.target(exported.value, exported.template) : undefined;
    }
    return undefined;
  }
}
