// The Web Worker fixture's module worker: the agent and its tool live here, and report to the
// page through postMessage.
import { agent, hooks } from './agent.js';

for (const kind of ['messages', 'streaming', 'toolCall']) {
  hooks[kind] = (value) => self.postMessage({ kind, value });
}
self.addEventListener('unhandledrejection', (e) => self.postMessage({ error: String(e.reason?.stack ?? e.reason) }));
self.addEventListener('message', ({ data }) => {
  if (data.send) agent.sendMessage(data.send);
});
