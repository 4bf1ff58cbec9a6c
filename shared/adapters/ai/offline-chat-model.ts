import type { ChatCompletion, ChatModel, ChatRequest } from '../../ports/chat-model.ts';
import { estimateTokens } from './errors.ts';

/**
 * The local and test default: answers without any network, deterministically
 * (`<chatbot name>: Echo: <last user text>`), with token counts estimated from the text length and
 * the reply cut to about `maxTokens` tokens like a real model's would be.
 */
export class OfflineChatModel implements ChatModel {
  async complete(request: ChatRequest): Promise<ChatCompletion> {
    const last = request.messages.findLast((m) => m.role === 'user')?.text ?? '';
    const reply = `${request.assistantName ? `${request.assistantName}: ` : ''}Echo: ${last}`;
    const text = reply.slice(0, request.maxTokens * 4);
    const prompt = [request.system, ...request.messages.map((m) => m.text)].join('\n');
    return { text, inputTokens: estimateTokens(prompt), outputTokens: estimateTokens(text) };
  }
}
