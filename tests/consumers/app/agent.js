// The agent, written as a page written for @kapaai/agent-core writes it: the import swapped to
// kapa-agent-wasm and followed at once by `new Agent({...})`, with a Zod 3 client tool made with
// createToolHelper(). Shared by every browser fixture (run.sh copies app/ into each one's src/);
// in the worker fixture it runs inside a module worker. `hooks` lets the UI (or the worker's
// message port) see what the agent does.
import { Agent, createToolHelper } from 'kapa-agent-wasm';
import { z } from 'zod';

export const hooks = { messages() {}, streaming() {}, toolCall() {} };

const tool = createToolHelper();

export const agent = new Agent({
  projectId: 'demo', // the development server's embedded backend mints tokens for project "demo"
  integrationId: 'demo-integration',
  baseUrl: location.origin,
  getSessionToken: async () => {
    const res = await fetch('/api/session', { method: 'POST' });
    if (!res.ok) throw new Error(`Session creation failed (${res.status})`);
    return res.json();
  },
  tools: [
    tool({
      name: 'convert_temperature',
      description: 'Convert a temperature from degrees Celsius to degrees Fahrenheit',
      displayName: 'Temperature',
      parameters: z.object({
        celsius: z.number().describe('The temperature in degrees Celsius'),
      }),
      execute: async (args) => {
        hooks.toolCall(args);
        const fahrenheit = (args.celsius * 9) / 5 + 32;
        return { celsius: args.celsius, fahrenheit, kelvin: args.celsius + 273.15, formula: '°F = °C × 9/5 + 32' };
      },
    }),
  ],
  onMessagesChange: (messages) => hooks.messages(messages),
  onStreamingChange: (streaming) => hooks.streaming(streaming),
});
