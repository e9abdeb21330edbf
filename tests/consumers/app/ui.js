// The page: a form, the conversation (the streamed answer as it arrives) and a record of the
// tool calls. `window.__consumer` is what the test reads; `ready` is set once the agent can
// take a message (the Send button is enabled then).
export function mountUi({ send }) {
  const state = { toolCalls: [], answers: [], streaming: [], ready: false };
  window.__consumer = state;
  const $ = (id) => document.getElementById(id);
  const list = $('messages');
  const button = $('composer').querySelector('button');
  button.disabled = true;

  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('q').value.trim();
    if (text) send(text);
    $('q').value = '';
  });

  return {
    ready() {
      state.ready = true;
      button.disabled = false;
    },
    messages(messages) {
      list.replaceChildren(
        ...messages.map((m) => {
          const li = document.createElement('li');
          li.className = m.role;
          li.textContent = m.content; // never innerHTML model output
          return li;
        }),
      );
      const last = messages.at(-1);
      if (last?.role === 'assistant') state.answers.push(last.content);
    },
    streaming(on) {
      state.streaming.push(on);
      $('status').textContent = on ? 'streaming…' : 'idle';
    },
    toolCall(args) {
      state.toolCalls.push(args);
      const li = document.createElement('li');
      li.textContent = `convert_temperature(${JSON.stringify(args)})`;
      $('tool-calls').append(li);
    },
  };
}
