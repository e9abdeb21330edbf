// The demo page's client tools. `parameters` are plain JSON Schema objects.
import { evaluate } from './calc.js';

export function getTheme() {
  return document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light';
}

export function setTheme(theme) {
  document.documentElement.dataset.theme = theme;
  try { localStorage.setItem('kapa-demo-theme', theme); } catch { /* private mode */ }
}

export function makeTools(createToolHelper) {
  const tool = createToolHelper();
  return [
    tool({
      name: 'get_current_time',
      description: "Get the current date and time in the user's browser, optionally in a given IANA time zone",
      displayName: 'Current time',
      parameters: {
        type: 'object',
        properties: {
          timeZone: { type: 'string', description: 'IANA time zone such as Europe/Paris (default: the browser\'s)' },
        },
        additionalProperties: false,
      },
      execute: ({ timeZone } = {}) => {
        const now = new Date();
        const zone = timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone;
        let formatted;
        try {
          formatted = now.toLocaleString('en-GB', { timeZone: zone, dateStyle: 'full', timeStyle: 'long' });
        } catch {
          throw new Error(`Unknown time zone: ${zone}`);
        }
        return { iso: now.toISOString(), formatted, timeZone: zone };
      },
    }),
    tool({
      name: 'calculator',
      description: 'Calculate the value of an arithmetic expression (+ - * / % ^, parentheses, sqrt, sin, log, pi…)',
      displayName: 'Calculator',
      needsApproval: true,
      parameters: {
        type: 'object',
        properties: {
          expression: { type: 'string', description: 'The expression, e.g. 2*(3+4)' },
        },
        required: ['expression'],
        additionalProperties: false,
      },
      execute: ({ expression }) => ({ expression, result: evaluate(expression) }),
    }),
    tool({
      name: 'get_page_info',
      description: 'Get information about the web page the user is on: its title, URL, language, viewport size and theme',
      displayName: 'Page info',
      parameters: { type: 'object', properties: {}, additionalProperties: false },
      execute: (_args, context) => ({
        title: document.title,
        url: location.href,
        language: document.documentElement.lang,
        viewport: `${window.innerWidth}×${window.innerHeight}`,
        theme: getTheme(),
        visitor: context && context.visitor ? context.visitor : 'anonymous',
      }),
    }),
    tool({
      name: 'set_theme',
      description: 'Switch the page to the light or dark colour theme (mode)',
      displayName: 'Change theme',
      parameters: {
        type: 'object',
        properties: { theme: { type: 'string', enum: ['light', 'dark'], description: 'The theme to switch to' } },
        required: ['theme'],
        additionalProperties: false,
      },
      execute: ({ theme }) => {
        const previous = getTheme();
        setTheme(theme);
        return { theme, previous };
      },
    }),
  ];
}
