// Bundled by esbuild into build/peer.mjs for the browser (the AI SDK has bare imports).
export { AbstractChat, DefaultChatTransport, lastAssistantMessageIsCompleteWithToolCalls } from 'ai';
