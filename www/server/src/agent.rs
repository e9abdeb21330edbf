//! The deterministic agent: decides, from the user's message and the registered client tools,
//! whether to call client tools (and with which arguments) or to search the knowledge base,
//! and writes the answer text. Pure functions; the HTTP layer turns them into stream events.

use crate::docs::{is_stopword, stem, Hit, Kb};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// A client tool as the chat request declares it (PROTOCOL.md §2).
#[derive(Clone, Debug, Deserialize)]
pub struct ClientTool {
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    /// Its JSON Schema.
    #[serde(default)]
    pub parameters: Value,
}

/// `null` reads as the type's default.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A chosen client tool call: the tool's name and the arguments filled from the message.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedCall {
    pub name: String,
    pub arguments: Value,
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .filter(|w| !is_stopword(w) && !w.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

/// Two words match when equal after stemming, or when they share a prefix of 5+ letters
/// ("calculate" / "calculator").
fn same_word(a: &str, b: &str) -> bool {
    if stem(a) == stem(b) {
        return true;
    }
    let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    common >= 5
}

/// Does the message contain an arithmetic expression?
fn find_expression(text: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_digit() || " +-*/^%().,×÷x".contains(c);
    let mut best: Option<String> = None;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() || chars[i] == '(' || chars[i] == '-' {
            let mut j = i;
            while j < chars.len() && allowed(chars[j]) {
                j += 1;
            }
            let cand: String = chars[i..j].iter().collect();
            let cand = cand.trim().trim_end_matches(['.', ',', ' ']).to_string();
            let has_digit = cand.chars().any(|c| c.is_ascii_digit());
            let has_op = cand.chars().any(|c| "+-*/^%×÷x".contains(c)) && cand.len() > 1;
            if has_digit && has_op && best.as_ref().is_none_or(|b| cand.len() > b.len()) {
                best = Some(cand.replace('×', "*").replace('÷', "/"));
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    best.map(|e| {
        // "x" as multiplication only between numbers.
        let mut out = String::new();
        let cs: Vec<char> = e.chars().collect();
        for (k, &c) in cs.iter().enumerate() {
            if c == 'x' {
                let prev = cs[..k].iter().rev().find(|c| **c != ' ');
                let next = cs[k + 1..].iter().find(|c| **c != ' ');
                if prev.is_some_and(|p| p.is_ascii_digit() || *p == ')')
                    && next.is_some_and(|n| n.is_ascii_digit() || *n == '(')
                {
                    out.push('*');
                    continue;
                }
            }
            out.push(c);
        }
        out.trim().to_string()
    })
}

/// How strongly the message asks for what `tool` offers. Name words weigh 2, description
/// words 1; an arithmetic expression counts for tools with an `expression`-like parameter.
pub fn tool_score(message: &str, tool: &ClientTool) -> u32 {
    let msg = words(message);
    let name_words: Vec<String> = words(&tool.name.replace(['_', '-'], " "));
    let desc_words: Vec<String> = words(&tool.description);
    let mut score = 0;
    let mut seen: Vec<&str> = Vec::new();
    for w in &msg {
        if seen.contains(&w.as_str()) || w.len() < 3 {
            continue;
        }
        seen.push(w);
        if name_words.iter().any(|n| same_word(w, n)) {
            score += 2;
        } else if desc_words.iter().any(|d| same_word(w, d)) {
            score += 1;
        }
    }
    let props = tool.parameters.get("properties").and_then(Value::as_object);
    let wants_expr = props.is_some_and(|p| p.keys().any(|k| is_expression_key(k)));
    if wants_expr && find_expression(message).is_some() {
        score += 2;
    }
    score
}

fn is_expression_key(k: &str) -> bool {
    let k = k.to_lowercase();
    ["expression", "expr", "formula", "equation", "calculation"]
        .iter()
        .any(|x| k.contains(x))
}

/// The client tools the message asks for, each with its arguments, in registration order.
pub fn match_tools(message: &str, tools: &[ClientTool]) -> Vec<PlannedCall> {
    tools
        .iter()
        .filter(|t| tool_score(message, t) >= 2)
        .map(|t| PlannedCall {
            name: t.name.clone(),
            arguments: fill_arguments(message, &t.parameters),
        })
        .collect()
}

/// Fills arguments from the message using the JSON Schema's property names and types.
pub fn fill_arguments(message: &str, schema: &Value) -> Value {
    let mut out = Map::new();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Value::Object(out);
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let lower = message.to_lowercase();
    let msg_words: Vec<String> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '/' && c != '_')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    for (key, prop) in props {
        let ty = prop.get("type").and_then(Value::as_str).unwrap_or("string");
        let key_l = key.to_lowercase();
        let value: Option<Value> = if let Some(options) = prop.get("enum").and_then(Value::as_array)
        {
            options
                .iter()
                .find(|o| {
                    o.as_str()
                        .is_some_and(|s| msg_words.iter().any(|w| w == &s.to_lowercase()))
                })
                .cloned()
        } else if is_expression_key(key) {
            find_expression(message).map(Value::from)
        } else if ty == "number" || ty == "integer" {
            first_number(message).and_then(|n| {
                if ty == "integer" {
                    Some(json!(n as i64))
                } else {
                    serde_json::Number::from_f64(n).map(Value::Number)
                }
            })
        } else if key_l.contains("timezone") || key_l == "tz" || key_l.contains("time_zone") {
            message
                .split_whitespace()
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '/' && c != '_'))
                .find(|w| {
                    (w.contains('/') && w.chars().next().is_some_and(char::is_uppercase))
                        || ["UTC", "GMT"].contains(w)
                })
                .map(Value::from)
        } else if ty == "string"
            && [
                "query", "text", "message", "input", "q", "question", "prompt", "search",
            ]
            .contains(&key_l.as_str())
        {
            Some(Value::from(message.trim()))
        } else if ty == "boolean" {
            required
                .contains(&key.as_str())
                .then_some(Value::Bool(false))
        } else {
            None
        };
        match value {
            Some(v) => {
                out.insert(key.clone(), v);
            }
            None if required.contains(&key.as_str()) && ty == "string" => {
                out.insert(key.clone(), Value::from(message.trim()));
            }
            None => {}
        }
    }
    Value::Object(out)
}

fn first_number(text: &str) -> Option<f64> {
    let mut cur = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (c == '.' && !cur.is_empty()) || (c == '-' && cur.is_empty()) {
            cur.push(c);
        } else if cur.chars().any(|c| c.is_ascii_digit()) {
            return cur.trim_end_matches('.').parse().ok();
        } else {
            cur.clear();
        }
    }
    None
}

/// The answer from the knowledge base hits, in Markdown, citing its sources.
pub fn knowledge_answer(kb: &Kb, hits: &[Hit], origin: &str, brief: bool) -> String {
    if hits.is_empty() {
        let mut s =
            String::from("I couldn't find anything about that in this project's documentation.");
        let topics: Vec<String> = kb
            .passages
            .iter()
            .filter(|p| p.heading != kb.docs[p.doc].title)
            .take(5)
            .map(|p| format!("*{}*", p.heading))
            .collect();
        if !topics.is_empty() {
            s.push_str(&format!(" You could ask about {}.", topics.join(", ")));
        }
        s.push_str(" I can also use this page's tools: ask me for the time, a calculation, the page's details, or to switch the theme.");
        return s;
    }
    let best = hits[0].score;
    let used: Vec<&Hit> = hits
        .iter()
        .take(if brief { 1 } else { 2 })
        .filter(|h| h.score >= best * 0.6)
        .collect();
    let mut s = String::new();
    for (n, h) in used.iter().enumerate() {
        let p = &kb.passages[h.passage];
        let title = kb.passage_title(h.passage);
        if n == 0 {
            s.push_str(&format!("According to **{}** [1]:\n\n", p.heading));
        } else {
            s.push_str(&format!("\n\nSee also **{}** [{}]:\n\n", p.heading, n + 1));
        }
        s.push_str(&excerpt(
            &p.body,
            if n == 0 && !brief { 700 } else { 300 },
            n == 0 && !brief,
        ));
        let _ = title;
    }
    s.push_str("\n\n**Sources**\n");
    for (n, h) in used.iter().enumerate() {
        s.push_str(&format!(
            "\n{}. [{}]({}{})",
            n + 1,
            kb.passage_title(h.passage),
            origin,
            kb.passage_href(h.passage)
        ));
    }
    s
}

/// The first blocks of a passage (about `max` chars), plus its first code block when
/// `with_code`. Blocks keep their Markdown, line breaks included: a table stays a table, a
/// list a list. A table or list longer than what is left of `max` is cut between rows or
/// items (a table keeps its header), and says how many it left out.
fn excerpt(body: &str, max: usize, with_code: bool) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut len = 0;
    let mut code_added = false;
    for b in blocks(body) {
        if is_fence(&b) {
            if with_code && !code_added && b.lines().count() <= 20 {
                out.push(b.trim_end().to_string());
                code_added = true;
            }
            continue;
        }
        if len > 0 && len + b.len() > max {
            // What fits of a table or list, when at least one row or item does.
            if let Some(cut) = cut_block(&b, max.saturating_sub(len)) {
                len += cut.len();
                out.push(cut);
            }
            continue;
        }
        len += b.len();
        out.push(b.trim_end().to_string());
    }
    if out.is_empty() {
        return "(This section has no text of its own.)".into();
    }
    out.join("\n\n")
}

fn is_fence(block: &str) -> bool {
    let t = block.trim_start();
    t.starts_with("```") || t.starts_with("~~~")
}

/// A passage's blocks: paragraphs, tables and lists (split at blank lines) and fenced code
/// blocks (whole, blank lines included), each with its own line breaks.
fn blocks(body: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut in_code = false;
    for line in body.lines() {
        let fence = is_fence(line);
        if fence && !in_code && !cur.trim().is_empty() {
            blocks.push(std::mem::take(&mut cur));
        }
        if fence {
            in_code = !in_code;
        }
        if !in_code && !fence && line.trim().is_empty() {
            if !cur.trim().is_empty() {
                blocks.push(std::mem::take(&mut cur));
            }
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if fence && !in_code {
            blocks.push(std::mem::take(&mut cur));
        }
    }
    if !cur.trim().is_empty() {
        blocks.push(cur);
    }
    blocks
}

/// The head of a table (header, separator and the rows that fit in `room`) or of a list
/// (the items that fit), with a note of what was left out; `None` for other blocks or when
/// not one row or item fits.
fn cut_block(block: &str, room: usize) -> Option<String> {
    let lines: Vec<&str> = block.lines().collect();
    let is_table = lines.len() >= 3
        && lines[0].trim_start().starts_with('|')
        && lines[1].trim().trim_matches('|').split('|').all(|c| {
            let c = c.trim();
            !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':'))
        });
    let is_item = |l: &str| {
        let t = l.trim_start();
        l.len() - t.len() < 2
            && (t.starts_with("- ")
                || t.starts_with("* ")
                || t.split_once(". ")
                    .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())))
    };
    // Units: a table's rows (after the 2 header lines), or a list's items (an item with
    // its continuation lines).
    let (head, units): (String, Vec<String>) = if is_table {
        (
            format!("{}\n{}\n", lines[0], lines[1]),
            lines[2..].iter().map(|l| format!("{l}\n")).collect(),
        )
    } else if is_item(lines[0]) {
        let mut items: Vec<String> = vec![];
        for l in &lines {
            match items.last_mut() {
                Some(last) if !is_item(l) => last.push_str(&format!("{l}\n")),
                _ => items.push(format!("{l}\n")),
            }
        }
        (String::new(), items)
    } else {
        return None;
    };
    let mut kept = head.clone();
    let mut n = 0;
    for u in &units {
        if n > 0 && kept.len() + u.len() > room {
            break;
        }
        kept.push_str(u);
        n += 1;
    }
    let left = units.len() - n;
    if n == 0 || left == 0 {
        return (left == 0).then(|| kept.trim_end().to_string());
    }
    let what = match (is_table, left) {
        (true, 1) => "1 more row".to_string(),
        (true, _) => format!("{left} more rows"),
        (false, 1) => "1 more item".to_string(),
        (false, _) => format!("{left} more items"),
    };
    Some(format!("{}\n\n*({what} in the source.)*", kept.trim_end()))
}

/// A client tool call's outcome as sent back in `tool_results`.
#[derive(Clone, Debug)]
pub struct CallOutcome {
    pub name: String,
    pub arguments: Value,
    pub status: String,
    pub output: Option<Value>,
    pub error: Option<String>,
}

/// The text answer after client tools ran.
pub fn results_answer(outcomes: &[CallOutcome]) -> String {
    if outcomes.is_empty() {
        return "There were no tool results to use.".into();
    }
    let mut parts = Vec::new();
    for o in outcomes {
        let part = match o.status.as_str() {
            "completed" => describe_output(o),
            "denied" => format!(
                "You declined **{}**, so I didn't run it{}.",
                o.name,
                args_suffix(&o.arguments)
            ),
            "error" => format!(
                "**{}** failed: {}",
                o.name,
                o.error.clone().unwrap_or_else(|| "unknown error".into())
            ),
            other => format!("**{}** ended as *{other}*.", o.name),
        };
        parts.push(part);
    }
    parts.join("\n\n")
}

fn args_suffix(args: &Value) -> String {
    match args.as_object() {
        Some(m) if !m.is_empty() => format!(
            " ({})",
            m.iter()
                .map(|(k, v)| format!("{k}: `{}`", scalar(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => String::new(),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        // 63.0 (a float that JS sent as 63) reads as 63.
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn describe_output(o: &CallOutcome) -> String {
    let out = o.output.clone().unwrap_or(Value::Null);
    let expr = o
        .arguments
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| is_expression_key(k)))
        .map(|(_, v)| scalar(v));
    let result_field = out
        .as_object()
        .and_then(|m| m.get("result").or_else(|| m.get("value")).cloned())
        .or_else(|| (!out.is_object() && !out.is_array() && !out.is_null()).then(|| out.clone()));
    if let (Some(expr), Some(r)) = (&expr, &result_field) {
        return format!("`{expr}` = **{}**", scalar(r));
    }
    let name_l = o.name.to_lowercase();
    if name_l.contains("time") {
        if let Some(m) = out.as_object() {
            let shown = m
                .get("formatted")
                .or_else(|| m.get("local"))
                .or_else(|| m.get("time"))
                .or_else(|| m.get("iso"))
                .map(scalar);
            if let Some(t) = shown {
                let tz = m.get("timeZone").or_else(|| m.get("timezone")).map(scalar);
                return match tz {
                    Some(tz) => format!("It is **{t}** ({tz}), according to your browser."),
                    None => format!("It is **{t}**, according to your browser."),
                };
            }
        }
    }
    match &out {
        Value::Null => format!("**{}** finished without a result.", o.name),
        Value::Object(m)
            if !m.is_empty() && m.values().all(|v| !v.is_object() && !v.is_array()) =>
        {
            let mut s = format!("**{}** returned:\n", o.name);
            for (k, v) in m {
                s.push_str(&format!("\n- {k}: {}", scalar(v)));
            }
            s
        }
        Value::Object(_) | Value::Array(_) => format!(
            "**{}** returned:\n\n```json\n{}\n```",
            o.name,
            serde_json::to_string_pretty(&out).unwrap_or_default()
        ),
        other => format!("**{}** returned {}.", o.name, scalar(other)),
    }
}

/// Splits text into small deltas (a word or two, at most ~12 characters), on char boundaries.
pub fn deltas(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        cur.push(c);
        if (c == ' ' || c == '\n') && cur.chars().count() >= 6 || cur.chars().count() >= 14 {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools() -> Vec<ClientTool> {
        vec![
            ClientTool {
                name: "get_current_time".into(),
                description: "Get the current date and time in the user's browser".into(),
                parameters: json!({"type":"object","properties":{}}),
            },
            ClientTool {
                name: "calculator".into(),
                description: "Evaluate an arithmetic expression".into(),
                parameters: json!({"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}),
            },
            ClientTool {
                name: "set_theme".into(),
                description: "Switch the page between light and dark theme".into(),
                parameters: json!({"type":"object","properties":{"theme":{"type":"string","enum":["light","dark"]}},"required":["theme"]}),
            },
        ]
    }

    #[test]
    fn matches_time_and_calculator() {
        let t = tools();
        let m = match_tools("What time is it?", &t);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].name, "get_current_time");
        let m = match_tools("calculate 2*(3+4)", &t);
        assert_eq!(
            m,
            vec![PlannedCall {
                name: "calculator".into(),
                arguments: json!({"expression": "2*(3+4)"})
            }]
        );
        let m = match_tools("What's 12 x 3?", &t);
        assert_eq!(m[0].arguments, json!({"expression": "12 * 3"}));
        let m = match_tools("What time is it, and what is 6*7?", &t);
        assert_eq!(
            m.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            vec!["get_current_time", "calculator"]
        );
        let m = match_tools("Switch to the dark theme please", &t);
        assert_eq!(m[0].arguments, json!({"theme": "dark"}));
        assert!(match_tools("How do I install the package?", &t).is_empty());
    }

    #[test]
    fn answers_from_results() {
        let s = results_answer(&[
            CallOutcome {
                name: "calculator".into(),
                arguments: json!({"expression":"2*(3+4)"}),
                status: "completed".into(),
                output: Some(json!({"result": 14})),
                error: None,
            },
            CallOutcome {
                name: "get_current_time".into(),
                arguments: json!({}),
                status: "denied".into(),
                output: None,
                error: None,
            },
            CallOutcome {
                name: "x".into(),
                arguments: json!({}),
                status: "error".into(),
                output: None,
                error: Some("Division by zero".into()),
            },
        ]);
        assert!(s.contains("`2*(3+4)` = **14**"), "{s}");
        let s2 = results_answer(&[CallOutcome {
            name: "calculator".into(),
            arguments: json!({"expression":"1+62"}),
            status: "completed".into(),
            output: Some(json!({"result": 63.0})),
            error: None,
        }]);
        assert!(s2.contains("= **63**"), "{s2}");
        assert!(s.contains("You declined **get_current_time**"));
        assert!(s.contains("Division by zero"));
    }

    #[test]
    fn excerpts_keep_tables_and_lists() {
        let table = "| case | seen |\n|---|---|\n| a | one |\n| b | two |\n| c | three |";
        let body = format!("Intro text.\n\n{table}\n\n- first\n- second\n  more\n- third");
        // Room for everything: the blocks come back as written.
        let all = excerpt(&body, 1000, false);
        assert!(all.contains(table), "{all}");
        assert!(all.contains("- first\n- second\n  more\n- third"), "{all}");
        // Little room: the table keeps its header and whole rows, and says what it left out.
        let cut = excerpt(&body, 50, false);
        assert!(
            cut.contains("| case | seen |\n|---|---|\n| a | one |\n"),
            "{cut}"
        );
        assert!(cut.contains("more rows in the source"), "{cut}");
        assert!(!cut.contains("| a | one | | b"), "{cut}");
        assert_eq!(
            cut_block("- one\n- two\n  two more\n- three", 25).as_deref(),
            Some("- one\n- two\n  two more\n\n*(1 more item in the source.)*")
        );
        assert_eq!(cut_block("Just a paragraph\nover two lines.", 5), None);
    }

    #[test]
    fn deltas_rejoin() {
        let t = "Héllo wörld, this is a longer sentence with ünïcode 🎉 in it.";
        let d = deltas(t);
        assert!(d.len() > 3);
        assert_eq!(d.concat(), t);
    }
}
