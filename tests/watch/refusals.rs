//! What watch refuses: a second watch on a state directory, an edited log,
//! bad flags and plain http, each before any request.

use deskaudit::sim::Profile;

use super::{ADMIN_KEY, Watched, deskaudit, sigterm, text};

#[test]
fn a_second_watch_and_an_edited_state_directory_are_refused() {
    let w = Watched::slow(Profile::Documented);
    let child = w.spawn(&["--every", "1h"]);
    w.until_the_poll_has_begun();
    let second = w.poll(&[]);
    sigterm(&child);
    let _ = child.wait_with_output();
    assert_eq!(second.status.code(), Some(4), "{}", text(&second));
    assert!(text(&second).contains("another deskaudit"), "{}", text(&second));
    // A log edited by hand: refused, naming the file and the line, nothing sent.
    w.poll_ok();
    w.poll_ok();
    let log = w.state.join("events.jsonl");
    let text_of = std::fs::read_to_string(&log).expect("log");
    std::fs::write(&log, format!("{text_of}{{\"not\": \"an event\"}}\n")).expect("edit");
    let before = w.sim.total_requests();
    let edited = w.poll(&[]);
    assert_eq!(edited.status.code(), Some(2), "{}", text(&edited));
    let said = text(&edited);
    assert!(
        said.contains("events.jsonl") && said.contains("line 2: not an event"),
        "{said}"
    );
    assert_eq!(w.sim.total_requests(), before);
}

#[test]
fn bad_usage_is_exit_2_before_any_request() {
    let w = Watched::new(Profile::Documented);
    let table: [(&[&str], &str); 4] = [
        (&["--every", "soon"], "not a duration"),
        (&["--budget", "0"], "--budget"),
        (
            &["--webhook", "http://siem.example/hook?token=s3cret"],
            "only https",
        ),
        (
            &["--idp", "okta:/nonexistent/export.csv"],
            "/nonexistent/export.csv",
        ),
    ];
    for (extra, says) in table {
        let run = w.poll(extra);
        assert_eq!(run.status.code(), Some(2), "{extra:?}: {}", text(&run));
        assert!(text(&run).contains(says), "{extra:?}: {}", text(&run));
        assert!(!text(&run).contains("s3cret"), "{}", text(&run));
    }
    assert_eq!(w.sim.total_requests(), 0);
    let remote = deskaudit(
        &[
            "watch",
            "--domain",
            "acme",
            "--base-url",
            "http://example.com",
            "--state",
            w.state.to_str().expect("utf-8"),
            "--once",
        ],
        Some(ADMIN_KEY),
    );
    assert_eq!(remote.status.code(), Some(2), "{}", text(&remote));
    assert!(
        text(&remote).contains("plain http is refused"),
        "{}",
        text(&remote)
    );
}
