//! `--assignments`: who the IdP assigns the Freshdesk app to. Either Okta's
//! "Current Assignments" report (`User,Login,Application name,Application
//! instance,Application login,Assigned on,Unassigned on,Last login,...`), of
//! which only rows for a Freshdesk app that are not unassigned count, or a
//! plain list with one login or email per line.

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use super::IdpError;
use super::csv_table::Table;
use super::sink::KeySet;
use super::source::{Opened, read_line};

/// The assigned people's keys, lower-cased, with the file's provenance.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Assignments {
    pub path: String,
    pub sha256: String,
    /// Rows that assign the Freshdesk app.
    pub assigned: u64,
    #[serde(skip)]
    pub keys: KeySet,
}

impl Assignments {
    pub fn load(path: &Path) -> Result<Assignments, IdpError> {
        let mut opened = Opened::open(path)?;
        let file = opened.file.clone();
        let digest = opened.take_digest();
        let mut line = Vec::new();
        read_line(&mut opened.reader, &mut line, &file, 1 + opened.skipped_lines)?;
        let mut out = Assignments {
            path: file.clone(),
            ..Assignments::default()
        };
        if memchr::memmem::find(&line.to_ascii_lowercase(), b"application name").is_some() {
            // Put the header back in front of the rest and read it as a table.
            let rest = opened.reader;
            opened.reader = Box::new(std::io::BufReader::new(std::io::Cursor::new(line).chain(rest)));
            let mut table = Table::new(opened, false)?;
            read_report(&mut table, &mut out)?;
        } else {
            let mut number = 1 + opened.skipped_lines;
            loop {
                let text = std::str::from_utf8(&line).map_err(|_| IdpError::Row {
                    file: file.clone(),
                    line: number,
                    reason: "not valid UTF-8 text".into(),
                })?;
                plain_line(text, &mut out);
                number += 1;
                if !read_line(&mut opened.reader, &mut line, &file, number)? {
                    break;
                }
            }
        }
        if let Some(digest) = digest {
            out.sha256 = digest.finish(&file)?;
        }
        Ok(out)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }
}

fn read_report(table: &mut Table, out: &mut Assignments) -> Result<(), IdpError> {
    let login = table.require(&["Login"])?;
    let app = table.require(&["Application name"])?;
    let instance = table.column(&["Application instance"])?;
    let app_login = table.column(&["Application login", "Application username"])?;
    let unassigned = table.column(&["Unassigned on"])?;
    table.each_row(|row, line, cx| {
        let cell = |col| cx.text(row, col, line);
        let names = format!("{} {}", cell(Some(app))?, cell(instance)?).to_lowercase();
        if !names.contains("freshdesk") || !cell(unassigned)?.is_empty() {
            return Ok(());
        }
        out.assigned += 1;
        for key in [cell(Some(login))?, cell(app_login)?] {
            if !key.is_empty() {
                out.keys.insert(key.to_lowercase());
            }
        }
        Ok(())
    })
}

/// One login per line; a first-column header such as `login` or `email` is skipped.
fn plain_line(line: &str, out: &mut Assignments) {
    let value = line
        .trim()
        .trim_start_matches('\u{feff}')
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches('"');
    if value.is_empty()
        || !value.contains('@')
            && matches!(
                value.to_ascii_lowercase().as_str(),
                "login" | "email" | "user" | "username"
            )
    {
        return;
    }
    out.assigned += 1;
    out.keys.insert(value.to_lowercase());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str, text: &str) -> Assignments {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        Assignments::load(&path).expect("loads")
    }

    #[test]
    fn okta_current_assignments_report_counts_live_freshdesk_rows() {
        let a = load(
            "assignments.csv",
            "User,Login,Application name,Application instance,Application login,Assigned on,Unassigned on,Last login\n\
             Ann Lee,Ann.Lee@acme.test,Freshdesk,Acme Freshdesk,ann.lee@acme.test,2024-01-02,,2026-09-01\n\
             Bo Chen,bo.chen@acme.test,Freshdesk,Acme Freshdesk,bo.chen@acme.test,2024-01-02,2026-05-01,\n\
             Cy Dune,cy.dune@acme.test,Slack,Acme Slack,cy.dune@acme.test,2024-01-02,,\n",
        );
        assert_eq!(a.assigned, 1);
        assert!(a.contains("ann.lee@acme.test"));
        assert!(!a.contains("bo.chen@acme.test"), "unassigned");
        assert!(!a.contains("cy.dune@acme.test"), "another app");
        assert_eq!(a.sha256.len(), 64);
    }

    #[test]
    fn plain_list_with_or_without_header() {
        let a = load("list.txt", "email\nAnn.Lee@acme.test\n\nbo.chen@acme.test\n");
        assert_eq!(a.assigned, 2);
        assert!(a.contains("ann.lee@acme.test") && a.contains("bo.chen@acme.test"));
    }
}
