//! What a fit adds for marketers, as plain values: CRM exports, segment names, rules; and
//! the output bookkeeping that goes with them (which files a run wrote, which files of an
//! earlier run into the same folder it removes).

use std::path::{Path, PathBuf};

use crate::error::{Error, Param, Result};
use crate::explain::rules::{DEFAULT_DEPTH, MAX_DEPTH};
use crate::io::atomic::Staged;
use crate::io::export::{self, Export, ExportTargets, Exported, ASSIGNMENTS_CSV, LISTS_FOLDER};
use crate::io::names::{read_names, SegmentNames};

/// Exports, names and rules of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketingOptions {
    /// A CSV file `segment,name`.
    pub names: Option<PathBuf>,
    pub exports: Vec<Export>,
    /// Depth of the rules' tree (0: no rules).
    pub rules_depth: usize,
}

impl Default for MarketingOptions {
    fn default() -> Self {
        MarketingOptions { names: None, exports: Vec::new(), rules_depth: DEFAULT_DEPTH }
    }
}

impl MarketingOptions {
    /// Checks what can be checked before reading anything.
    pub fn check(&self) -> Result<()> {
        if self.rules_depth > MAX_DEPTH {
            return Err(Error::param(
                Param::RulesDepth,
                format!(
                    "{} is deeper than {MAX_DEPTH}; rules that long are not read (0 turns rules off)",
                    self.rules_depth
                ),
            ));
        }
        Ok(())
    }

    /// The names file read (empty without one); [`crate::io::names::check_known`] checks
    /// its ids once the fit's are known.
    pub fn read_names(&self) -> Result<SegmentNames> {
        self.names.as_deref().map_or(Ok(SegmentNames::new()), read_names)
    }
}

/// Where the exports of an assignments file at `assignments` go: `<folder>/assignments.csv`
/// (or `<stem>.csv` beside a file named otherwise) and `<folder>/lists/`.
pub fn export_targets(assignments: &Path, exports: &[Export]) -> ExportTargets {
    let folder = assignments.parent().unwrap_or(Path::new(""));
    let csv_name = match assignments.file_stem().map(|s| s.to_string_lossy()) {
        Some(stem) if stem != "assignments" => format!("{stem}.csv"),
        _ => ASSIGNMENTS_CSV.to_string(),
    };
    ExportTargets {
        csv: exports.contains(&Export::Csv).then(|| folder.join(csv_name)),
        lists: exports.contains(&Export::Lists).then(|| folder.join(LISTS_FOLDER)),
    }
}

/// Writes the exports of the staged assignments file (before it is committed).
pub fn stage_exports(assignments: &Staged, exports: &[Export], names: &SegmentNames) -> Result<Exported> {
    let targets = export_targets(assignments.target(), exports);
    if (targets.csv.is_some() || targets.lists.is_some()) && assignments.is_direct() {
        return Err(Error::param(
            Param::Export,
            format!(
                "reads the assignments back, but {} is a device or pipe; write them to a file or folder",
                assignments.target().display()
            ),
        ));
    }
    export::stage_exports(assignments.temp(), &targets, names)
}

/// Every file name of `folder` an earlier fit may have written: the fixed outputs and the
/// id lists.
fn known_outputs(folder: &Path, fixed: &[&str]) -> Vec<PathBuf> {
    let mut known: Vec<PathBuf> = fixed.iter().map(|name| folder.join(name)).collect();
    if let Ok(entries) = std::fs::read_dir(folder.join(LISTS_FOLDER)) {
        let mut lists: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                name.strip_prefix("segment=")
                    .and_then(|r| r.strip_suffix(".csv"))
                    .is_some_and(|id| id.parse::<u32>().is_ok())
            })
            .collect();
        lists.sort();
        known.extend(lists);
    }
    known
}

/// Removes (and logs) the outputs of an earlier run in `folder` (any of `fixed`, or an id
/// list) that this run did not write (`written`), so none can be mistaken for this run's;
/// an id-list folder left empty goes too. Returns the paths removed.
pub fn remove_stale_outputs(folder: &Path, fixed: &[&str], written: &[PathBuf]) -> Vec<PathBuf> {
    let same = |a: &Path, b: &Path| a == b || a.canonicalize().ok().is_some_and(|c| b.canonicalize().ok() == Some(c));
    let mut removed = Vec::new();
    for path in known_outputs(folder, fixed) {
        if path.is_file() && !written.iter().any(|w| same(w, &path)) && std::fs::remove_file(&path).is_ok() {
            warn!(
                "removed {}: an output of an earlier run into this folder that this run did not write",
                path.display()
            );
            removed.push(path);
        }
    }
    let lists = folder.join(LISTS_FOLDER);
    if !written.iter().any(|w| w.starts_with(&lists)) && std::fs::remove_dir(&lists).is_ok() {
        info!("removed the empty {}", lists.display());
    }
    removed
}

/// The paths of `written` relative to `folder` (as model.json lists them), in order.
pub fn relative_names(folder: &Path, written: &[PathBuf]) -> Vec<String> {
    written.iter().map(|p| p.strip_prefix(folder).unwrap_or(p).to_string_lossy().replace('\\', "/")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_this_run_did_not_write_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path();
        std::fs::create_dir_all(folder.join("lists")).unwrap();
        for name in ["model.json", "report.html", "notes.txt", "lists/segment=0.csv", "lists/segment=5.csv"] {
            std::fs::write(folder.join(name), b"old").unwrap();
        }
        let written = vec![folder.join("model.json"), folder.join("lists/segment=0.csv")];
        let removed = remove_stale_outputs(folder, &["model.json", "report.html", "assignments.csv"], &written);
        assert_eq!(removed, vec![folder.join("report.html"), folder.join("lists/segment=5.csv")]);
        assert!(folder.join("notes.txt").exists(), "a file no run writes is never touched");
        assert!(folder.join("lists/segment=0.csv").exists());
        remove_stale_outputs(folder, &["model.json"], &[folder.join("model.json")]);
        assert!(!folder.join("lists").exists(), "the emptied lists folder goes");
        assert_eq!(relative_names(folder, &written), ["model.json", "lists/segment=0.csv"]);
    }

    #[test]
    fn exports_go_beside_the_assignments() {
        let t = export_targets(Path::new("out/assignments.parquet"), &[Export::Csv, Export::Lists]);
        assert_eq!(t.csv, Some(PathBuf::from("out/assignments.csv")));
        assert_eq!(t.lists, Some(PathBuf::from("out/lists")));
        let t = export_targets(Path::new("out/scored.parquet"), &[Export::Csv]);
        assert_eq!((t.csv, t.lists), (Some(PathBuf::from("out/scored.csv")), None));
    }
}
