import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { guard } from '../aws-errors.ts';
import { ChatModelConfigError } from './errors.ts';

const keyOf = (secret: string): string => {
  // A plain secret is the key; a JSON one may hold it under a conventional field.
  try {
    const parsed = JSON.parse(secret) as Record<string, unknown>;
    const key = parsed.apiKey ?? parsed.api_key ?? parsed.OPENAI_API_KEY;
    if (typeof key === 'string' && key) return key;
  } catch {
    // not JSON
  }
  return secret.trim();
};

/**
 * The OpenAI-compatible API key from a Secrets Manager secret, read on first use and kept for the
 * life of the container (a rotated key is picked up by new containers). A failed read is not kept:
 * an outage is `unavailable` and retried; a missing secret or a denied read is a configuration error.
 */
export const secretApiKey = (client: SecretsManagerClient, secretId: string): (() => Promise<string>) => {
  let cached: Promise<string> | undefined;
  const read = async (): Promise<string> => {
    let secret: string | undefined;
    try {
      const out = await guard('secretsmanager', () =>
        client.send(new GetSecretValueCommand({ SecretId: secretId })),
      );
      secret = out.SecretString;
    } catch (error) {
      if (error instanceof Error && error.name !== 'DependencyUnavailableError') {
        throw new ChatModelConfigError('openai', `cannot read the API key secret: ${error.name}`);
      }
      throw error;
    }
    if (!secret) throw new ChatModelConfigError('openai', 'the API key secret has no string value');
    return keyOf(secret);
  };
  return () => {
    cached ??= read().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
};
