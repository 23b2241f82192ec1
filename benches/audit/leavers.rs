//! The leavers case of the audit benchmark: an HRIS export with one row per
//! agent (20,000 at the reference size), written once beside the generated
//! data. Its people are the agents' IdP logins (`user{i}@example.com`); one in
//! ten is terminated within the 92 days before the bench's as-of, half of
//! those with an HR date alone and half with a time and an offset, so every
//! path of the leavers computation is taken. The same export with nobody
//! terminated (`hris_active.csv`) is the case without leavers: the same
//! identities joined to the same agents, so the two differ by the leavers alone.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// `dir/hris_workers.csv` (`leavers`) or `dir/hris_active.csv` with `rows`
/// rows, unless it is there already.
pub fn hris(dir: &Path, rows: u64, leavers: bool) -> PathBuf {
    let file = if leavers {
        "hris_workers.csv"
    } else {
        "hris_active.csv"
    };
    let path = dir.join(file);
    if path.is_file() {
        return path;
    }
    let partial = dir.join(format!("{file}.partial"));
    let file = fs::File::create(&partial).expect("create the HRIS export");
    let mut w = BufWriter::new(file);
    writeln!(
        w,
        "Employee ID,First Name,Last Name,Work Email,Employment Status,Termination Date"
    )
    .expect("write");
    for i in 0..rows {
        // Terminated: every tenth person, spread over the 90 days before 2026-11-01.
        let (status, date) = if leavers && i % 10 == 3 {
            let day = 1 + (i / 10) % 90;
            let date = jiff::civil::date(2026, 11, 1) - jiff::Span::new().days(day as i64);
            let date = if i % 20 == 3 {
                date.to_string()
            } else {
                format!("{date}T17:30:00-05:00")
            };
            ("Terminated", date)
        } else {
            ("Active", String::new())
        };
        writeln!(w, "E{i},First{i},Last{i},user{i}@example.com,{status},{date}").expect("write");
    }
    w.into_inner().expect("flush").sync_all().expect("sync");
    fs::rename(&partial, &path).expect("put the HRIS export in place");
    path
}
