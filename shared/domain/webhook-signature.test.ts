import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signWebhook } from './webhook-signature.ts';

describe('webhook signatures', () => {
  it('makes secrets of whsec_ and at least 24 random bytes, never the same twice', () => {
    const a = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(a.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);
    expect(newWebhookSecret()).not.toBe(a);
  });

  it("signs so that the Standard Webhooks reference library's verify accepts it", () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({
      type: 'webhook.test',
      timestamp: '2026-01-01T00:00:00.000Z',
      data: { webhookId: 'wh_1' },
    });
    const headers = signWebhook(secret, 'evt_abc', new Date(), body);
    expect(headers['webhook-id']).toBe('evt_abc');
    expect(headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('is refused for a tampered body, another id, or another secret', () => {
    const secret = newWebhookSecret();
    const headers = signWebhook(secret, 'evt_abc', new Date(), '{"a":1}');
    expect(() => new Webhook(secret).verify('{"a":2}', headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify('{"a":1}', { ...headers, 'webhook-id': 'evt_other' })).toThrow(
      WebhookVerificationError,
    );
    expect(() => new Webhook(newWebhookSecret()).verify('{"a":1}', headers)).toThrow(
      WebhookVerificationError,
    );
  });
});
