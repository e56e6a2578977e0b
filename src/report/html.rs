//! The self-contained HTML page: inline CSS and SVG figures, no scripts, no network.

use std::fmt::Write;

use crate::explain::labels;
use crate::explain::profiles::SegmentProfile;
use crate::explain::rules::RuleSet;

/// One figure of the page; `id` is the element id (tests and links use it).
pub struct Figure {
    pub id: &'static str,
    pub svg: String,
    pub caption: String,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px auto;max-width:1100px;color:#222}\
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
th{background:#f2f2f2}td.num{text-align:right}figure{margin:16px 0}\
figcaption{color:#555;font-size:.9em;max-width:720px}.weak{color:#a33;font-weight:bold}";

/// The whole page: a title, a table of key facts, optional tables (already HTML) and the figures.
pub fn page(title: &str, facts: &[(String, String)], tables: &[(String, String)], figures: &[Figure]) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head>\
         <body>\n<h1>{t}</h1>\n<table id=\"facts\">",
        t = escape(title)
    );
    for (key, value) in facts {
        let _ = write!(html, "<tr><th>{}</th><td>{}</td></tr>", escape(key), escape(value));
    }
    html.push_str("</table>\n");
    for (heading, table) in tables {
        let _ = write!(html, "<h2>{}</h2>\n{table}\n", escape(heading));
    }
    for f in figures {
        let _ =
            writeln!(html, "<figure id=\"{}\">{}<figcaption>{}</figcaption></figure>", f.id, f.svg, escape(&f.caption));
    }
    html.push_str("</body></html>\n");
    html
}

/// One row per segment: name, customers, share, descriptor, top features and the levels
/// well-supported enough to name (with their share of the segment).
pub fn profiles_table(profiles: &[SegmentProfile]) -> String {
    let mut html = String::from(
        "<table id=\"profiles\"><tr><th>segment</th><th>name</th><th>customers</th><th>share</th><th>descriptor</th>\
         <th>sets it apart (z)</th><th>common levels (share, lift)</th></tr>",
    );
    for p in profiles {
        let top: Vec<String> = p
            .top_features
            .iter()
            .filter_map(|name| p.features.iter().find(|f| &f.feature == name))
            .map(|f| format!("{} ({:+.2})", f.feature, f.z))
            .collect();
        let over: Vec<String> = p
            .over_represented
            .iter()
            .map(|c| format!("{} ({}, ×{:.1})", c.level, labels::percent(c.share), c.lift))
            .collect();
        let _ = write!(
            html,
            "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}%</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.segment,
            escape(p.name.as_deref().unwrap_or("")),
            labels::with_thousands(&p.size.to_string()),
            100.0 * p.share,
            escape(&p.descriptor),
            escape(&top.join(", ")),
            escape(&over.join(", "))
        );
    }
    html.push_str("</table>");
    html
}

/// Every numeric feature's median and mean in original units, one row per segment and a
/// last row for the whole base: what the z-score heat map stands for.
pub fn original_units_table(profiles: &[SegmentProfile]) -> String {
    let Some(first) = profiles.first() else { return String::new() };
    let mut html = String::from("<table id=\"original-units\"><tr><th>segment</th><th>customers</th>");
    for f in &first.features {
        let _ = write!(html, "<th>{}<br>median (mean)</th>", escape(&f.feature));
    }
    html.push_str("</tr>");
    let cell = |median: Option<f64>, mean: Option<f64>| match (median, mean) {
        (Some(m), Some(a)) => format!("{} ({})", labels::number(m), labels::number(a)),
        _ => "–".into(),
    };
    for p in profiles {
        let _ = write!(
            html,
            "<tr class=\"segment\"><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            p.segment,
            labels::with_thousands(&p.size.to_string())
        );
        for f in &p.features {
            let _ = write!(html, "<td class=\"num\">{}</td>", cell(f.median, f.mean));
        }
        html.push_str("</tr>");
    }
    let total: u64 = profiles.iter().map(|p| p.size).sum();
    let _ = write!(html, "<tr><th>all</th><th class=\"num\">{}</th>", labels::with_thousands(&total.to_string()));
    for f in &first.features {
        let _ = write!(html, "<th class=\"num\">{}</th>", cell(f.base_median, f.base_mean));
    }
    html.push_str("</tr></table>");
    html
}

/// The rules that reproduce the segments, one row per rule, after a line with the tree's
/// fidelity.
pub fn rules_table(rules: &RuleSet) -> String {
    let mut html = format!(
        "<p id=\"rules-fidelity\">A decision tree of depth {} on {} customers puts {} of them in their own segment \
         (its fidelity); each line below is one of its leaves.</p><table id=\"rules\"><tr><th>segment</th><th>rule</th>\
         <th>covers</th><th>precise</th></tr>",
        rules.depth,
        labels::with_thousands(&rules.rows.to_string()),
        labels::percent(rules.fidelity)
    );
    for rule in &rules.rules {
        let _ = write!(
            html,
            "<tr class=\"rule\"><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            rule.segment,
            escape(&rule.text),
            labels::percent(rule.covers),
            labels::percent(rule.precision)
        );
    }
    html.push_str("</table>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped() {
        let html = page("a <b> & \"c\"", &[("col<1>".into(), "x&y".into())], &[], &[]);
        assert!(html.contains("<h1>a &lt;b&gt; &amp; &quot;c&quot;</h1>"));
        assert!(html.contains("<th>col&lt;1&gt;</th><td>x&amp;y</td>"));
        assert!(!html.contains("<b>"));
    }
}
