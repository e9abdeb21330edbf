// The Node fixture: a plain ESM script. KAPA_DEV_URL is the development server; its session
// endpoint answers loopback requests without an Origin (as a server-side caller makes them).
// Prints one JSON line with what happened; the test checks it.
import { Agent, createToolHelper } from 'kapa-agent-wasm';
import { z } from 'zod';

const base = process.env.KAPA_DEV_URL;
const report = { toolCalls: [], answers: [], streaming: [] };
const tool = createToolHelper();

const agent = new Agent({
  projectId: 'demo', // the development server's embedded backend mints tokens for project "demo"
  integrationId: 'demo-integration',
  baseUrl: base,
  getSessionToken: async () => {
    const res = await fetch(`${base}/api/session`, { method: 'POST' });
    if (!res.ok) throw new Error(`Session creation failed (${res.status})`);
    return res.json();
  },
  tools: [
    tool({
      name: 'convert_temperature',
      description: 'Convert a temperature from degrees Celsius to degrees Fahrenheit',
      parameters: z.object({
        celsius: z.number().describe('The temperature in degrees Celsius'),
      }),
      execute: async (args) => {
        report.toolCalls.push(args);
        const fahrenheit = (args.celsius * 9) / 5 + 32;
        return { celsius: args.celsius, fahrenheit, kelvin: args.celsius + 273.15, formula: '°F = °C × 9/5 + 32' };
      },
    }),
  ],
  onMessagesChange: (messages) => {
    const last = messages.at(-1);
    if (last?.role === 'assistant') report.answers.push(last.content);
  },
  onStreamingChange: (streaming) => report.streaming.push(streaming),
});

await agent.sendMessage(process.argv[2] ?? 'Convert 100 degrees Celsius to Fahrenheit');
report.final = agent.getMessages().at(-1);
agent.free();
console.log(JSON.stringify(report));
