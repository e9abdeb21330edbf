// Entry of the Web Worker fixture's page: the agent runs in a module worker (worker.js); the
// page sends the text and shows what the worker reports, once the worker says it is ready.
import { mountUi } from './ui.js';

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const ui = mountUi({ send: (text) => worker.postMessage({ send: text }) });
worker.addEventListener('message', ({ data }) => {
  if (data.error) console.error(`worker: ${data.error}`);
  else ui[data.kind](data.value);
});
// A module that fails to load or evaluate in the worker ends up here.
worker.addEventListener('error', (e) => console.error(`worker error: ${e.message ?? 'failed to load or run'}`));
