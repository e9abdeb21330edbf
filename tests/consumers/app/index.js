// Entry of the page fixtures: the agent on the main thread.
import { agent, hooks } from './agent.js';
import { mountUi } from './ui.js';

const ui = mountUi({ send: (text) => agent.sendMessage(text) });
Object.assign(hooks, ui);
ui.ready();
