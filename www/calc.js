// A real arithmetic expression parser (recursive descent): no eval, no Function.
//
// Grammar:  expr   = term (('+' | '-') term)*
//           term   = unary (('*' | '/' | '%' | implicit) unary)*
//           unary  = ('+' | '-') unary | power   (so -2^2 = -4)
//           power  = call ('^' unary)?           (right associative; ** is accepted too)
//           call   = name '(' expr (',' expr)* ')' | name | number | '(' expr ')'
// Names: pi, e, tau and sqrt abs round floor ceil trunc sign sin cos tan asin acos atan
// ln log log10 log2 exp min max hypot pow. Numbers: 12, 1.5, .5, 1e3, 1_000.

const CONSTANTS = { pi: Math.PI, e: Math.E, tau: 2 * Math.PI };
const FUNCTIONS = {
  sqrt: [1, Math.sqrt], abs: [1, Math.abs], round: [1, Math.round], floor: [1, Math.floor],
  ceil: [1, Math.ceil], trunc: [1, Math.trunc], sign: [1, Math.sign], sin: [1, Math.sin],
  cos: [1, Math.cos], tan: [1, Math.tan], asin: [1, Math.asin], acos: [1, Math.acos],
  atan: [1, Math.atan], ln: [1, Math.log], log: [1, Math.log10], log10: [1, Math.log10],
  log2: [1, Math.log2], exp: [1, Math.exp], min: [-1, Math.min], max: [-1, Math.max],
  hypot: [-1, Math.hypot], pow: [2, Math.pow],
};

function tokenize(src) {
  const tokens = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) { i += 1; continue; }
    const num = src.slice(i).match(/^(\d[\d_]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?/);
    if (num) {
      tokens.push({ t: 'num', v: Number(num[0].replace(/_/g, '')), at: i });
      i += num[0].length;
      continue;
    }
    const name = src.slice(i).match(/^[A-Za-z][A-Za-z0-9]*/);
    if (name) {
      tokens.push({ t: 'name', v: name[0].toLowerCase(), at: i });
      i += name[0].length;
      continue;
    }
    if (src.startsWith('**', i)) { tokens.push({ t: '^', at: i }); i += 2; continue; }
    const map = { '×': '*', '·': '*', '÷': '/', '−': '-' };
    const op = map[c] ?? c;
    if ('+-*/%^(),'.includes(op)) { tokens.push({ t: op, at: i }); i += 1; continue; }
    throw new Error(`Unexpected character "${c}" at position ${i + 1}`);
  }
  return tokens;
}

/** Evaluates an arithmetic expression. Throws an Error with a readable message. */
export function evaluate(source) {
  if (typeof source !== 'string' || !source.trim()) throw new Error('Empty expression');
  if (source.length > 500) throw new Error('Expression too long');
  const tokens = tokenize(source);
  let pos = 0;
  let depth = 0;
  const peek = () => tokens[pos];
  const take = (t) => {
    const tok = tokens[pos];
    if (!tok || tok.t !== t) {
      throw new Error(tok ? `Expected "${t}" at position ${tok.at + 1}` : `Expected "${t}" at the end`);
    }
    pos += 1;
    return tok;
  };

  function expr() {
    if (++depth > 100) throw new Error('Expression nested too deeply');
    let v = term();
    while (peek() && (peek().t === '+' || peek().t === '-')) {
      const op = tokens[pos++].t;
      const r = term();
      v = op === '+' ? v + r : v - r;
    }
    depth -= 1;
    return v;
  }
  function term() {
    let v = unary();
    for (;;) {
      const tok = peek();
      if (tok && (tok.t === '*' || tok.t === '/' || tok.t === '%')) {
        pos += 1;
        const r = unary();
        if ((tok.t === '/' || tok.t === '%') && r === 0) throw new Error('Division by zero');
        v = tok.t === '*' ? v * r : tok.t === '/' ? v / r : v % r;
      } else if (tok && (tok.t === '(' || tok.t === 'name' || tok.t === 'num')) {
        v *= unary(); // implicit multiplication: 2(3+4), 2pi
      } else {
        return v;
      }
    }
  }
  function power() {
    const base = primary();
    if (peek() && peek().t === '^') {
      pos += 1;
      return Math.pow(base, unary());
    }
    return base;
  }
  function unary() {
    const tok = peek();
    if (tok && (tok.t === '-' || tok.t === '+')) {
      pos += 1;
      const v = unary();
      return tok.t === '-' ? -v : v;
    }
    return power();
  }
  function primary() {
    const tok = tokens[pos++];
    if (!tok) throw new Error('Unexpected end of expression');
    if (tok.t === 'num') return tok.v;
    if (tok.t === '(') {
      const v = expr();
      take(')');
      return v;
    }
    if (tok.t === 'name') {
      if (peek() && peek().t === '(' && FUNCTIONS[tok.v]) {
        pos += 1;
        const args = [expr()];
        while (peek() && peek().t === ',') { pos += 1; args.push(expr()); }
        take(')');
        const [arity, fn] = FUNCTIONS[tok.v];
        if (arity >= 0 && args.length !== arity) {
          throw new Error(`${tok.v}() takes ${arity} argument${arity === 1 ? '' : 's'}`);
        }
        return fn(...args);
      }
      if (tok.v in CONSTANTS) return CONSTANTS[tok.v];
      throw new Error(`Unknown name "${tok.v}"`);
    }
    throw new Error(`Unexpected "${tok.t}" at position ${tok.at + 1}`);
  }

  const value = expr();
  if (pos < tokens.length) throw new Error(`Unexpected "${tokens[pos].v ?? tokens[pos].t}" at position ${tokens[pos].at + 1}`);
  if (!Number.isFinite(value)) throw new Error('The result is not a finite number');
  // Hide binary floating point noise: 0.1 + 0.2 → 0.3.
  return Number.parseFloat(value.toPrecision(12));
}
