import type { Chatbot } from '../domain/entities.ts';
import type { ChatbotSettings, ChatbotStore } from '../ports/chatbot-store.ts';
import { type DynamoTable, entityOf } from './dynamodb-table.ts';

const chatbotKey = (tenantId: string, chatbotId: string) => ({ pk: `CHATBOT#${tenantId}#${chatbotId}` });
const SETTINGS = ['name', 'aiEnabled', 'systemPrompt', 'model'] as const;

export class DynamoChatbotStore implements ChatbotStore {
  constructor(private readonly table: DynamoTable) {}

  async get(tenantId: string, chatbotId: string): Promise<Chatbot | undefined> {
    return entityOf<Chatbot>(await this.table.get(chatbotKey(tenantId, chatbotId)));
  }

  async createIfMissing(chatbot: Chatbot): Promise<Chatbot> {
    const key = chatbotKey(chatbot.tenantId, chatbot.chatbotId);
    if (await this.table.put({ ...key, ...chatbot }, { ConditionExpression: 'attribute_not_exists(pk)' })) {
      return chatbot;
    }
    return (await this.get(chatbot.tenantId, chatbot.chatbotId)) ?? chatbot;
  }

  async upsert(defaults: Chatbot, settings: ChatbotSettings, now: string): Promise<Chatbot> {
    // One atomic update: given settings overwrite, everything else keeps its value or takes the default.
    const values: Record<string, unknown> = { ':now': now };
    const names: Record<string, string> = {};
    const sets = ['updatedAt = :now'];
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
}
