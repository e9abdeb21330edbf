// One cold sample in a fresh Node process: import of the package entry → a usable Agent.
const t0 = performance.now();
const { Agent } = await import('../build/pkg/index.js');
const agent = new Agent({
  projectId: 'bench', integrationId: 'int_bench', baseUrl: 'http://bench.invalid',
  getSessionToken: () => ({ token: 't', expiresAt: Date.now() + 3600e3 }),
  onMessagesChange: () => {}, onStreamingChange: () => {},
});
const ms = performance.now() - t0;
agent.free();
process.stdout.write(JSON.stringify({ ms }));
