// Entry of the page fixtures: the agent on the main thread.
import { agent, hooks } from './agent.js';
import { mountUi } from './ui.js';

Object.assign(hooks, mountUi({ send: (text) => agent.sendMessage(text) }));
