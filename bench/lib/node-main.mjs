// Runs the suite in this Node process and prints the results as JSON on stdout.
import { env } from './node-env.mjs';
import { runSuite } from './suite.mjs';
import { loadBaseline } from './baseline.mjs';
const cfg = JSON.parse(process.argv[2] || '{}');
// The optional baseline package (BASELINE_PKG, snapshotted to build/base-pkg by run.mjs).
if (cfg.baseline) env.base = await loadBaseline(new URL('../build/base-pkg/', import.meta.url).href, () => process.memoryUsage().heapUsed);
const r = await runSuite(env, cfg);
process.stdout.write(JSON.stringify(r));
