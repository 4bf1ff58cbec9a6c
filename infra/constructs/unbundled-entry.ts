/**
 * Stands in for a handler module that does not exist yet, only in stacks whose bundling is
 * skipped (tests, `cdk synth` of other stacks). It is never bundled: a stack that is bundled
 * fails synth when an entry is missing.
 */
export const handler = (): never => {
  throw new Error('unbundled placeholder handler');
};
