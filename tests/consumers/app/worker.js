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
// Messages the page sent before this point (while the imports were still loading) may never
// reach the listener above, so the page waits for this before it lets anyone send.
self.postMessage({ kind: 'ready' });
