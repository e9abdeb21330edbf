// `AgentOptions` checked and split, in JS, so that `new Agent(options)` throws its TypeError at
// once even before the WebAssembly module has loaded (SPEC §2). The result has two halves:
// `config`, plain JSON data for the Rust machine (a tool's `parameters` already turned into
// JSON Schema), and `js`, what stays in JS (callbacks, each tool's `execute`, Standard Schemas
// and `context`). The Rust side (src/wasm/options.rs) only reads what this wrote.

import { toJsonSchema } from './schemas.js';
import { checkSchema, validateArgs } from './schema-check.js';
import { toJsonValue } from './json.js';

const isObject = (v) => typeof v === 'object' && v !== null;
const isFunction = (v) => typeof v === 'function';
/** `o[key]`, or undefined when `o` is not an object or the getter throws. */
function get(o, key) {
  if (!isObject(o) && !isFunction(o)) return undefined;
  try {
    return o[key];
  } catch {
    return undefined;
  }
}
const fail = (message) => {
  throw new TypeError(message);
};
const errorText = (e) => (e instanceof Error ? e.message : isObject(e) && typeof e.message === 'string' ? e.message : String(e));

function requiredString(o, key) {
  const v = get(o, key);
  if (typeof v !== 'string' || v === '') fail(`options.${key} must be a non-empty string`);
  return v;
}

/** An optional string; when `nonEmpty`, '' is refused too. */
function optionalString(o, key, nonEmpty = false) {
  const v = get(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') fail(`options.${key} must be a string`);
  if (nonEmpty && v === '') fail(`options.${key} must be a non-empty string`);
  return v;
}

function requiredFn(o, key) {
  const v = get(o, key);
  if (!isFunction(v)) fail(`options.${key} must be a function`);
  return v;
}

function optionalFn(o, key) {
  const v = get(o, key);
  if (v !== undefined && !isFunction(v)) fail(`options.${key} must be a function`);
  return v;
}

/** A number of milliseconds: `positive` (> 0) or non-negative, finite. */
function ms(o, key, at, positive) {
  const v = get(o, key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (positive ? v <= 0 : v < 0)) {
    fail(`${at}.${key} must be a ${positive ? 'positive' : 'non-negative'} number of milliseconds`);
  }
  return v;
}

function retry(o) {
  const v = get(o, 'retry');
  if (v === undefined) return undefined;
  if (!isObject(v)) fail('options.retry must be an object');
  const out = {};
  for (const key of ['maxRetries', 'baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs']) {
    const n = get(v, key);
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) fail(`options.retry.${key} must be a non-negative number`);
    if (key === 'maxRetries' && (!Number.isInteger(n) || n > 100)) {
      fail('options.retry.maxRetries must be a whole number from 0 to 100');
    }
    out[key] = n;
  }
  return out;
}

function tools(o) {
  const v = get(o, 'tools');
  const config = [];
  const js = [];
  if (v === undefined) return { config, js };
  if (!Array.isArray(v)) fail('options.tools must be an array');
  v.forEach((t, i) => {
    const at = `options.tools[${i}]`;
    if (!isObject(t)) fail(`${at} must be an object`);
    const name = get(t, 'name');
    if (typeof name !== 'string' || name === '') fail(`${at}.name must be a non-empty string`);
    if (config.some((c) => c.name === name)) fail(`${at}.name: the tool name "${name}" is used twice`);
    const description = get(t, 'description');
    if (typeof description !== 'string') fail(`${at}.description must be a string`);
    const execute = get(t, 'execute');
    if (!isFunction(execute)) fail(`${at}.execute must be a function`);
    const parameters = get(t, 'parameters');
    if (!isObject(parameters)) fail(`${at}.parameters must be a Zod schema or a JSON Schema object`);
    let schema;
    try {
      schema = toJsonValue(toJsonSchema(parameters));
      checkSchema(schema);
    } catch (e) {
      fail(`${at}.parameters: ${errorText(e)}`);
    }
    const spec = { name, description, parameters: schema };
    const needsApproval = get(t, 'needsApproval');
    if (needsApproval !== undefined) {
      if (typeof needsApproval !== 'boolean') fail(`${at}.needsApproval must be a boolean`);
      spec.needsApproval = needsApproval;
    }
    const displayName = get(t, 'displayName');
    if (displayName !== undefined) {
      if (typeof displayName !== 'string') fail(`${at}.displayName must be a string`);
      spec.displayName = displayName;
    }
    config.push(spec);
    // The arguments of each call, validated against the JSON Schema before `execute` runs.
    const tool = { name, execute, check: (args) => validateArgs(schema, args) };
    // A Standard Schema (Zod 3.24+, Zod 4, Valibot, …) validates the arguments itself.
    if (isFunction(get(get(parameters, '~standard'), 'validate'))) tool.standard = parameters;
    js.push(tool);
  });
  return { config, js };
}

/**
 * The plain entry's `governance`: its .wasm has no governance, so the option is refused with
 * what to import instead. `KAPA_GOVERNANCE` is a constant scripts/build-pkg.sh defines per
 * entry (false for index.js, true for governance.js); the unused branch is not bundled.
 */
function noGovernance(o) {
  if (get(o, 'governance') !== undefined) {
    fail("options.governance: this build of kapa-agent-wasm has no governance; import { Agent } from 'kapa-agent-wasm/governance' instead");
  }
  return undefined;
}

/** The `governance` option (GOVERNANCE.md), in the governance entry. */
function governance(o) {
  const g = get(o, 'governance');
  if (g === undefined) return undefined;
  if (!isObject(g)) fail('options.governance must be an object');
  const string = (key) => {
    const v = get(g, key);
    if (typeof v !== 'string' || v === '') fail(`options.governance.${key} must be a non-empty string`);
    return v;
  };
  const out = { endpoint: string('endpoint'), agentId: string('agentId') };
  const mode = get(g, 'mode');
  if (mode !== undefined) {
    if (mode !== 'log_only' && mode !== 'block' && mode !== 'require_approval') {
      fail("options.governance.mode must be 'log_only', 'block' or 'require_approval'");
    }
    out.mode = mode;
  }
  for (const key of ['approvalTimeoutMs', 'pollIntervalMs']) {
    const n = ms(g, key, 'options.governance', true);
    if (n !== undefined) out[key] = n;
  }
  const failOpen = get(g, 'failOnCircuitOpen');
  if (failOpen !== undefined) {
    if (typeof failOpen !== 'boolean') fail('options.governance.failOnCircuitOpen must be a boolean');
    out.failOnCircuitOpen = failOpen;
  }
  const tools = get(g, 'tools');
  if (tools !== undefined) {
    if (!isObject(tools) || Array.isArray(tools)) fail('options.governance.tools must be an object');
    out.tools = {};
    for (const name of Object.keys(tools)) {
      const at = `options.governance.tools.${name}`;
      const entry = get(tools, name);
      if (!isObject(entry)) fail(`${at} must be an object`);
      const attrs = {};
      for (const k of ['toolType', 'operation', 'targetSystem']) {
        const v = get(entry, k);
        if (v === undefined) continue;
        if (typeof v !== 'string') fail(`${at}.${k} must be a string`);
        attrs[k] = v;
      }
      out.tools[name] = attrs;
    }
  }
  return out;
}

function builtinToolMeta(o) {
  const meta = get(o, 'builtinToolMeta');
  if (meta === undefined) return undefined;
  if (!isObject(meta)) fail('options.builtinToolMeta must be an object');
  const out = {};
  for (const k of Object.keys(meta)) {
    const entry = get(meta, k);
    if (!isObject(entry)) fail(`options.builtinToolMeta.${k} must be an object`);
    const d = get(entry, 'displayName');
    if (d === undefined) continue;
    if (typeof d !== 'string') fail(`options.builtinToolMeta.${k}.displayName must be a string`);
    out[k] = { displayName: d };
  }
  return out;
}

/**
 * Checks `options` (TypeError naming the first bad option) and splits them into
 * `{config, js}` (see the top of this file). Fields without a value are left out of `config`.
 */
export function parseOptions(o) {
  if (!isObject(o)) fail('options must be an object');
  const config = { projectId: requiredString(o, 'projectId'), integrationId: requiredString(o, 'integrationId') };
  const js = {
    getSessionToken: requiredFn(o, 'getSessionToken'),
    onMessagesChange: requiredFn(o, 'onMessagesChange'),
    onStreamingChange: requiredFn(o, 'onStreamingChange'),
    onThreadIdChange: optionalFn(o, 'onThreadIdChange'),
    onEvent: optionalFn(o, 'onEvent'),
  };
  const t = tools(o);
  const set = (key, value) => {
    if (value !== undefined) config[key] = value;
  };
  set('model', optionalString(o, 'model', true));
  set('baseUrl', optionalString(o, 'baseUrl', true));
  set('customInstructions', optionalString(o, 'customInstructions'));
  const user = get(o, 'user');
  if (user !== undefined) {
    if (!isObject(user) || Array.isArray(user)) fail('options.user must be an object');
    try {
      config.user = toJsonValue(user);
    } catch (e) {
      fail(`options.user: ${errorText(e)}`);
    }
  }
  const groups = get(o, 'sourceGroupIdsInclude');
  if (groups !== undefined) {
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
      fail('options.sourceGroupIdsInclude must be an array of strings');
    }
    config.sourceGroupIdsInclude = [...groups];
  }
  const history = get(o, 'enableHistory');
  if (history !== undefined) {
    if (typeof history !== 'boolean') fail('options.enableHistory must be a boolean');
    config.enableHistory = history;
  }
  set('retry', retry(o));
  set('governance', KAPA_GOVERNANCE ? governance(o) : noGovernance(o));
  set('throttleMs', ms(o, 'throttleMs', 'options', false));
  set('idleTimeoutMs', ms(o, 'idleTimeoutMs', 'options', true));
  set('sessionTokenTimeoutMs', ms(o, 'sessionTokenTimeoutMs', 'options', true));
  config.tools = t.config;
  set('builtinToolMeta', builtinToolMeta(o));
  const context = get(o, 'context');
  js.context = context === undefined ? {} : context;
  js.tools = t.js;
  return { config, js };
}
