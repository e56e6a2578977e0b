//! The report's "since the last run" section (`fit --previous`): a migration heat map (a
//! table shaded by each flow's share of its from_segment), size changes and drift.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::html::escape;
use crate::continuity::drift::Drift;
use crate::continuity::migration::{Migration, Side};

/// The section's tables, headed "Since `since`: …", in order: migration (when the previous
/// run had assignments), segment sizes and drift (when there is a drift reference).
pub fn tables(since: &str, migration: Option<&Migration>, drift: Option<&Drift>) -> Vec<(String, String)> {
    let mut tables = Vec::new();
    if let Some(m) = migration {
        tables.push((format!("Since {since}: who moved where"), migration_table(m)));
    }
    if let Some(d) = drift {
        tables.push((format!("Since {since}: segment sizes"), sizes_table(d)));
        tables.push((format!("Since {since}: drift"), drift_table(d)));
    }
    tables
}

fn side(s: Side) -> String {
    match s {
        Side::Segment(id) => id.to_string(),
        Side::New => "new".into(),
        Side::Gone => "gone".into(),
    }
}

/// Rows: previous segments (then `new`); columns: today's segments (then `gone`); each cell
/// the customers who moved, shaded by their share of the row.
fn migration_table(m: &Migration) -> String {
    let rows = m.rows();
    let from: BTreeSet<Side> = rows.iter().map(|r| r.0).collect();
    let to: BTreeSet<Side> = rows.iter().map(|r| r.1).collect();
    let mut html = String::from("<table id=\"migration\"><tr><th>from \\ to</th>");
    for t in &to {
        let _ = write!(html, "<th>{}</th>", escape(&side(*t)));
    }
    html.push_str("</tr>");
    for f in &from {
        let _ = write!(html, "<tr><th>{}</th>", escape(&side(*f)));
        for t in &to {
            match rows.iter().find(|r| r.0 == *f && r.1 == *t) {
                Some(&(_, _, customers, share)) => {
                    let _ = write!(
                        html,
                        "<td class=\"num\" style=\"background:rgba(200,60,40,{:.3})\" title=\"{:.1}% of {}\">{customers}</td>",
                        0.8 * share,
                        100.0 * share,
                        escape(&side(*f))
                    );
                }
                None => html.push_str("<td class=\"num\"></td>"),
            }
        }
        html.push_str("</tr>");
    }
    html.push_str(
        "</table><p>Customers per previous segment (rows) and today's (columns); the shade is the \
                   share of the row. <b>new</b>: customers only today; <b>gone</b>: only in the last run.</p>",
    );
    html
}

fn sizes_table(d: &Drift) -> String {
    let mut html = String::from(
        "<table id=\"size-changes\"><tr><th>segment</th><th>reference</th><th>today</th><th>change</th></tr>",
    );
    for c in &d.segment_share_change {
        let _ = write!(
            html,
            "<tr><td class=\"num\">{}</td><td class=\"num\">{:.1}%</td><td class=\"num\">{:.1}%</td><td class=\"num\">{:+.1} pt</td></tr>",
            c.segment,
            100.0 * c.previous_share,
            100.0 * c.share,
            100.0 * c.change
        );
    }
    html.push_str("</table>");
    html
}

fn drift_table(d: &Drift) -> String {
    let mut html = String::from(
        "<table id=\"drift\"><tr><th>feature</th><th>PSI</th><th>band</th><th>outside the training range</th></tr>",
    );
    for (feature, &psi) in &d.psi {
        let band = crate::continuity::drift::DriftLevel::of(psi);
        let outside = d.outside_training_range.get(feature).map_or(String::new(), |s| format!("{:.1}%", 100.0 * s));
        let _ = write!(
            html,
            "<tr><td>{}</td><td class=\"num\">{psi:.4}</td><td{}>{}</td><td class=\"num\">{outside}</td></tr>",
            escape(feature),
            if band == crate::continuity::drift::DriftLevel::None { "" } else { " class=\"weak\"" },
            format!("{band:?}").to_lowercase()
        );
    }
    let _ = write!(
        html,
        "</table><p>Population stability index per feature against the reference's training rows: none below 0.1, \
         moderate from 0.1, significant from 0.25. Two samples of one population give about {:.4} on average at \
         these sizes ({} and {} rows).</p>",
        d.noise_floor, d.reference_rows, d.rows
    );
    html
}
