// Runs the suite in this Node process and prints the results as JSON on stdout.
import { env } from './node-env.mjs';
import { runSuite } from './suite.mjs';
const cfg = JSON.parse(process.argv[2] || '{}');
const r = await runSuite(env, cfg);
process.stdout.write(JSON.stringify(r));
