import type { Chatbot } from '../domain/entities.ts';
import type { ChatbotSettings, ChatbotStore } from '../ports/chatbot-store.ts';
import type { Page, PageRequest } from '../ports/page.ts';
import { queryPage } from './dynamodb-page.ts';
import { type DynamoTable, entityOf } from './dynamodb-table.ts';

const chatbotKey = (tenantId: string, chatbotId: string) => ({ pk: `CHATBOT#${tenantId}#${chatbotId}` });
/** The tenant's chatbots in gsi2, by creation time. */
const tenantPartition = (tenantId: string) => `TENANTCHATBOTS#${tenantId}`;
const listingKeys = (c: Pick<Chatbot, 'tenantId' | 'chatbotId' | 'createdAt'>) => ({
  gsi2pk: tenantPartition(c.tenantId),
  gsi2sk: `${c.createdAt}#${c.chatbotId}`,
});
const SETTINGS = ['name', 'aiEnabled', 'systemPrompt', 'model', 'conversationManners'] as const;

export class DynamoChatbotStore implements ChatbotStore {
  constructor(private readonly table: DynamoTable) {}

  async get(tenantId: string, chatbotId: string): Promise<Chatbot | undefined> {
    return entityOf<Chatbot>(await this.table.get(chatbotKey(tenantId, chatbotId)));
  }

  async createIfMissing(chatbot: Chatbot): Promise<Chatbot> {
    const key = chatbotKey(chatbot.tenantId, chatbot.chatbotId);
    const item = { ...key, ...listingKeys(chatbot), ...chatbot };
    if (await this.table.put(item, { ConditionExpression: 'attribute_not_exists(pk)' })) {
      return chatbot;
    }
    return (await this.get(chatbot.tenantId, chatbot.chatbotId)) ?? chatbot;
  }

  async upsert(defaults: Chatbot, settings: ChatbotSettings, now: string): Promise<Chatbot> {
    // One atomic update: given settings overwrite, everything else keeps its value or takes the default.
    // Listed per tenant from its creation on (a chatbot stored before gsi2 existed joins the list now).
    const listing = listingKeys(defaults);
    const values: Record<string, unknown> = { ':now': now, ':g2pk': listing.gsi2pk, ':g2sk': listing.gsi2sk };
    const names: Record<string, string> = {};
    const sets = [
      'updatedAt = :now',
      'gsi2pk = if_not_exists(gsi2pk, :g2pk)',
      'gsi2sk = if_not_exists(gsi2sk, :g2sk)',
    ];
    const fields = ['tenantId', 'chatbotId', 'createdAt', ...SETTINGS] as const;
    for (const field of fields) {
      const given = field in settings && settings[field as keyof ChatbotSettings] !== undefined;
      const value = given ? settings[field as keyof ChatbotSettings] : defaults[field];
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(given ? `#${field} = :${field}` : `#${field} = if_not_exists(#${field}, :${field})`);
    }
    const item = await this.table.update(chatbotKey(defaults.tenantId, defaults.chatbotId), {
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
    return entityOf<Chatbot>(item) as Chatbot;
  }

  async attachSession(tenantId: string, chatbotId: string, sessionId: string): Promise<boolean> {
    const updated = await this.table.update(chatbotKey(tenantId, chatbotId), {
      UpdateExpression: 'SET sessionId = :s',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(sessionId)',
      ExpressionAttributeValues: { ':s': sessionId },
    });
    return updated !== undefined;
  }

  async detachSession(tenantId: string, chatbotId: string, sessionId: string): Promise<void> {
    await this.table.update(chatbotKey(tenantId, chatbotId), {
      UpdateExpression: 'REMOVE sessionId',
      ConditionExpression: 'sessionId = :s',
      ExpressionAttributeValues: { ':s': sessionId },
    });
  }

  async list(tenantId: string, page: PageRequest): Promise<Page<Chatbot>> {
    return queryPage<Chatbot>(
      this.table,
      { index: 'gsi2', partition: tenantPartition(tenantId), pkPrefix: `CHATBOT#${tenantId}#` },
      page,
    );
  }

  async delete(tenantId: string, chatbotId: string): Promise<'deleted' | 'has_session' | 'missing'> {
    const key = chatbotKey(tenantId, chatbotId);
    const deleted = await this.table.delete(key, {
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(sessionId)',
    });
    if (deleted) return 'deleted';
    return (await this.table.get(key)) ? 'has_session' : 'missing';
  }
}
