//! The knowledge base: the project's Markdown docs, split into passages by heading, ranked
//! with BM25, and rendered to HTML for the `/docs/...` pages that sources link to.

use crate::util::SlugDeduper;
use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Debug)]
pub struct Doc {
    /// Path relative to the repo root, e.g. `README.md` or `pkg-template/README.md`.
    pub path: String,
    pub title: String,
    pub markdown: String,
}

#[derive(Clone, Debug)]
pub struct Passage {
    pub doc: usize,
    pub heading: String,
    pub anchor: String,
    /// The passage's Markdown, without its heading line.
    pub body: String,
}

#[derive(Default)]
pub struct Kb {
    pub docs: Vec<Doc>,
    pub passages: Vec<Passage>,
    tf: Vec<HashMap<String, f64>>,
    len: Vec<f64>,
    df: HashMap<String, usize>,
    avg_len: f64,
}

#[derive(Clone, Debug)]
pub struct Hit {
    pub passage: usize,
    pub score: f64,
}

const STOPWORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "but",
    "if",
    "then",
    "else",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "by",
    "at",
    "from",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "i",
    "me",
    "my",
    "we",
    "our",
    "you",
    "your",
    "he",
    "she",
    "they",
    "them",
    "their",
    "what",
    "which",
    "who",
    "whom",
    "how",
    "why",
    "when",
    "where",
    "do",
    "does",
    "did",
    "done",
    "can",
    "could",
    "should",
    "would",
    "will",
    "shall",
    "may",
    "might",
    "must",
    "not",
    "no",
    "yes",
    "so",
    "than",
    "too",
    "very",
    "just",
    "about",
    "into",
    "over",
    "under",
    "again",
    "there",
    "here",
    "all",
    "any",
    "some",
    "each",
    "such",
    "only",
    "own",
    "same",
    "other",
    "more",
    "most",
    "also",
    "please",
    "tell",
    "show",
    "give",
    "get",
    "set",
    "use",
    "using",
    "used",
    "want",
    "need",
    "like",
    "let",
    "know",
    "make",
    "s",
    "t",
    "am",
    "has",
    "have",
    "had",
    "up",
    "out",
    "one",
    "now",
    "current",
    "currently",
    "us",
];

pub fn is_stopword(w: &str) -> bool {
    STOPWORDS.contains(&w)
}

/// Light stemming: enough to match "tools"/"tool", "streaming"/"stream".
pub fn stem(w: &str) -> String {
    let w = w.to_lowercase();
    for suf in ["ing", "ies", "es", "ed", "s"] {
        if w.len() > suf.len() + 3 && w.ends_with(suf) {
            let base = &w[..w.len() - suf.len()];
            return if suf == "ies" {
                format!("{base}y")
            } else {
                base.to_string()
            };
        }
    }
    w
}

/// Lowercased, stemmed content words.
pub fn terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .filter(|w| !is_stopword(w))
        .map(|w| stem(&w))
        .collect()
}

impl Kb {
    /// Loads README.md, docs/*.md, pkg-template/README.md and www/README.md under `root`.
    pub fn load(root: &Path) -> Kb {
        let mut paths: Vec<String> = vec!["README.md".into()];
        if let Ok(rd) = std::fs::read_dir(root.join("docs")) {
            let mut more: Vec<String> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.ends_with(".md"))
                .map(|n| format!("docs/{n}"))
                .collect();
            more.sort();
            paths.extend(more);
        }
        paths.push("pkg-template/README.md".into());
        paths.push("www/README.md".into());
        let docs = paths
            .into_iter()
            .filter_map(|p| {
                let markdown = std::fs::read_to_string(root.join(&p)).ok()?;
                Some(Doc {
                    title: doc_title(&markdown, &p),
                    path: p,
                    markdown,
                })
            })
            .collect();
        Kb::from_docs(docs)
    }

    pub fn from_docs(docs: Vec<Doc>) -> Kb {
        let mut kb = Kb {
            docs,
            ..Default::default()
        };
        for (i, doc) in kb.docs.iter().enumerate() {
            for (heading, anchor, body) in split_passages(&doc.markdown) {
                if body.trim().is_empty() && heading.is_empty() {
                    continue;
                }
                kb.passages.push(Passage {
                    doc: i,
                    heading: if heading.is_empty() {
                        doc.title.clone()
                    } else {
                        heading
                    },
                    anchor,
                    body,
                });
            }
        }
        for p in &kb.passages {
            let mut tf: HashMap<String, f64> = HashMap::new();
            // The heading counts twice: it says what the passage is about.
            let heading_terms = terms(&p.heading);
            let all = heading_terms
                .iter()
                .chain(heading_terms.iter())
                .cloned()
                .chain(terms(&p.body));
            let mut n = 0.0;
            for t in all {
                *tf.entry(t).or_default() += 1.0;
                n += 1.0;
            }
            for t in tf.keys() {
                *kb.df.entry(t.clone()).or_default() += 1;
            }
            kb.tf.push(tf);
            kb.len.push(n);
        }
        let total: f64 = kb.len.iter().sum();
        kb.avg_len = if kb.len.is_empty() {
            1.0
        } else {
            (total / kb.len.len() as f64).max(1.0)
        };
        kb
    }

    /// BM25 (k1 = 1.2, b = 0.75); hits with a positive score, best first.
    pub fn search(&self, query: &str, k: usize) -> Vec<Hit> {
        let mut q = terms(query);
        q.sort();
        q.dedup();
        let n = self.passages.len() as f64;
        let mut hits: Vec<Hit> = (0..self.passages.len())
            .map(|i| {
                let mut score = 0.0;
                for t in &q {
                    let Some(&f) = self.tf[i].get(t) else {
                        continue;
                    };
                    let df = *self.df.get(t).unwrap_or(&0) as f64;
                    let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                    let norm = 1.2 * (1.0 - 0.75 + 0.75 * self.len[i] / self.avg_len);
                    score += idf * f * 2.2 / (f + norm);
                }
                Hit { passage: i, score }
            })
            .filter(|h| h.score > 0.0)
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.passage.cmp(&b.passage)));
        hits.truncate(k);
        hits
    }

    /// `"<heading> | <doc title>"`.
    pub fn passage_title(&self, i: usize) -> String {
        let p = &self.passages[i];
        let doc = &self.docs[p.doc];
        if p.heading == doc.title {
            doc.title.clone()
        } else {
            format!("{} | {}", p.heading, doc.title)
        }
    }

    /// Path (under the server's origin) of the page showing passage `i`.
    pub fn passage_href(&self, i: usize) -> String {
        let p = &self.passages[i];
        format!(
            "/docs/{}#{}",
            crate::util::encode_path(&self.docs[p.doc].path),
            p.anchor
        )
    }

    pub fn doc_by_path(&self, path: &str) -> Option<&Doc> {
        self.docs.iter().find(|d| d.path == path)
    }
}

fn doc_title(markdown: &str, path: &str) -> String {
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") || line.trim_start().starts_with("~~~") {
            in_code = !in_code;
        }
        if !in_code {
            if let Some(t) = line.strip_prefix("# ") {
                return clean_heading(t);
            }
        }
    }
    path.to_string()
}

fn clean_heading(t: &str) -> String {
    t.trim().trim_end_matches('#').trim().replace('`', "")
}

/// `(heading, anchor, body)` per section; text before the first heading has heading "".
/// Anchors follow the same rule as the rendered page's heading ids.
pub fn split_passages(markdown: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut dedup = SlugDeduper::default();
    let mut heading = String::new();
    let mut anchor = String::new();
    let mut body = String::new();
    let mut in_code = false;
    for line in markdown.lines() {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_code = !in_code;
        }
        let hashes = t.chars().take_while(|&c| c == '#').count();
        if !in_code && (1..=6).contains(&hashes) && t[hashes..].starts_with(' ') {
            if !body.trim().is_empty() || !heading.is_empty() {
                out.push((heading.clone(), anchor.clone(), body.trim().to_string()));
            }
            heading = clean_heading(&t[hashes..]);
            anchor = dedup.unique(&heading);
            body.clear();
            continue;
        }
        body.push_str(line);
        body.push('\n');
    }
    if !body.trim().is_empty() || !heading.is_empty() {
        out.push((heading, anchor, body.trim().to_string()));
    }
    out
}

/// Renders a doc to a full HTML page. Raw HTML in the Markdown is shown as text.
pub fn render_page(doc: &Doc, all: &[Doc]) -> String {
    use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};
    let mut dedup = SlugDeduper::default();
    let parser = Parser::new_ext(
        &doc.markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let mut events: Vec<Event> = Vec::new();
    let mut heading_at: Option<usize> = None;
    for ev in parser {
        match ev {
            Event::Start(Tag::Heading { .. }) => {
                heading_at = Some(events.len());
                events.push(ev);
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some(start) = heading_at.take() {
                    let text: String = events[start + 1..]
                        .iter()
                        .filter_map(|e| match e {
                            Event::Text(t) | Event::Code(t) => Some(t.to_string()),
                            _ => None,
                        })
                        .collect();
                    let slug = dedup.unique(&clean_heading(&text));
                    if let Event::Start(Tag::Heading {
                        level,
                        classes,
                        attrs,
                        ..
                    }) = events[start].clone()
                    {
                        events[start] = Event::Start(Tag::Heading {
                            level,
                            id: Some(CowStr::from(slug)),
                            classes,
                            attrs,
                        });
                    }
                }
                events.push(ev);
            }
            Event::Html(h) | Event::InlineHtml(h) => events.push(Event::Text(h)),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let safe = dest_url.starts_with("http://")
                    || dest_url.starts_with("https://")
                    || dest_url.starts_with('#')
                    || dest_url.starts_with('/')
                    || !dest_url.contains(':');
                let dest_url = if safe { dest_url } else { CowStr::from("#") };
                events.push(Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }));
            }
            other => events.push(other),
        }
    }
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, events.into_iter());
    // Aligned table columns come out as `style` attributes, which the page's CSP
    // (`style-src 'self'`) blocks: classes instead, styled in docs.css. (Raw HTML in the
    // Markdown is escaped text by now, so only pulldown-cmark's own cells match.)
    for cell in ["<th", "<td"] {
        for (align, class) in [("left", "al"), ("center", "ac"), ("right", "ar")] {
            let styled = [cell, " style=\"text-align: ", align, "\">"].concat();
            body = body.replace(&styled, &[cell, " class=\"", class, "\">"].concat());
        }
    }
    maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (doc.title) }
                link rel="stylesheet" href="/docs.css";
                // The chat follows the reader into the docs (persist: 'session').
                link rel="stylesheet" href="/chat-widget.css";
                script type="module" src="/chat-widget.js" {}
            }
            body {
                header.docs-nav {
                    a href="/" { "← Demo" } " " span { "Docs:" }
                    @for d in all {
                        " "
                        a href={ "/docs/" (crate::util::encode_path(&d.path)) }
                            aria-current=[(d.path == doc.path).then_some("page")] { (d.path) }
                    }
                }
                // pulldown-cmark's HTML: raw HTML in the Markdown was turned into text above.
                main.doc { (maud::PreEscaped(body)) }
                div #kapa-chat {}
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> Kb {
        Kb::from_docs(vec![Doc {
            path: "README.md".into(),
            title: "Demo".into(),
            markdown: "# Demo\n\nIntro text.\n\n## Install\n\nRun `npm install demo` to install the package.\n\n```sh\n# not a heading\nnpm install demo\n```\n\n## Tools\n\nClient tools run in the browser. Tools can need approval.\n\n## Install\n\nAgain.\n".into(),
        }])
    }

    #[test]
    fn splits_by_heading_and_ignores_code() {
        let kb = kb();
        let headings: Vec<_> = kb
            .passages
            .iter()
            .map(|p| (p.heading.as_str(), p.anchor.as_str()))
            .collect();
        assert_eq!(
            headings,
            vec![
                ("Demo", "demo"),
                ("Install", "install"),
                ("Tools", "tools"),
                ("Install", "install-1")
            ]
        );
        assert!(kb.passages[1].body.contains("# not a heading"));
    }

    #[test]
    fn bm25_ranks_relevant_passage_first() {
        let kb = kb();
        let hits = kb.search("How do I install it?", 3);
        assert_eq!(kb.passages[hits[0].passage].heading, "Install");
        let hits = kb.search("which tools need approval", 3);
        assert_eq!(kb.passages[hits[0].passage].heading, "Tools");
        assert!(kb.search("zebra", 3).is_empty());
    }

    #[test]
    fn aligned_table_columns_get_classes_not_inline_styles() {
        let mut k = kb();
        k.docs[0].markdown.push_str(
            "\n| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |\n\n<td style=\"text-align: right\">\n",
        );
        let html = render_page(&k.docs[0], &k.docs);
        assert!(!html.contains("<th style"), "{html}");
        assert!(!html.contains("<td style"), "{html}");
        assert!(html.contains("<th class=\"ar\">c</th>"), "{html}");
        assert!(html.contains("<td class=\"ac\">2</td>"), "{html}");
        assert!(html.contains("<td class=\"al\">1</td>"), "{html}");
        // The same words in the text stay text.
        assert!(
            html.contains("&lt;td style=\"text-align: right\"&gt;"),
            "{html}"
        );
    }

    #[test]
    fn renders_ids_and_escapes_html() {
        let mut k = kb();
        k.docs[0]
            .markdown
            .push_str("\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n");
        let html = render_page(&k.docs[0], &k.docs);
        assert!(html.contains("id=\"install-1\""), "{html}");
        assert!(!html.contains("<script>"));
        assert!(!html.contains("javascript:"));
    }
}
