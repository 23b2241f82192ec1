//! The order of `idp`'s modules, lowest first, checked: a module may use
//! only modules of an earlier layer, never one of its own or a later one,
//! so every arrow runs one way (no reader borrows from another reader, no
//! CSV parser from the table above it). Tests count as uses too.
//!
//! `mod.rs` is above them all: it declares and calls every module. Its own
//! items (`IdpError`, `Identity`, ...) are what every module shares, and
//! naming them is not a use of a sibling.

/// Each layer's modules and their sources.
const LAYERS: &[&[(&str, &str)]] = &[
    // Leaves: what rows go into, where bytes come from, shared field helpers,
    // Okta's statuses, the JSON hot path's partial parse; none uses a sibling.
    &[
        ("sink", include_str!("sink.rs")),
        ("source", include_str!("source.rs")),
        ("resolve", include_str!("resolve.rs")),
        ("fields", include_str!("fields.rs")),
        ("okta_status", include_str!("okta_status.rs")),
        ("json_lean", include_str!("json_lean.rs")),
    ],
    // One CSV row and the reader's logic for it; the JSON users, streamed.
    &[
        ("csv_row", include_str!("csv_row.rs")),
        ("json_doc", include_str!("json_doc.rs")),
    ],
    // The two ways to read rows: one pass, or blocks in parallel.
    &[
        ("csv_stream", include_str!("csv_stream.rs")),
        ("parallel", include_str!("parallel.rs")),
    ],
    // The table, which chooses between them.
    &[("csv_table", include_str!("csv_table.rs"))],
    // Over a table or a JSON stream: the app-assignment export, and the
    // readers' test helpers.
    &[
        ("assignments", include_str!("assignments.rs")),
        ("test_support", include_str!("test_support.rs")),
    ],
    // One reader per export format.
    &[
        ("okta", include_str!("okta.rs")),
        ("okta_json", include_str!("okta_json.rs")),
        ("entra", include_str!("entra.rs")),
        ("entra_json", include_str!("entra_json.rs")),
        ("google", include_str!("google.rs")),
        ("onelogin", include_str!("onelogin.rs")),
        ("jumpcloud", include_str!("jumpcloud.rs")),
        ("scim", include_str!("scim.rs")),
        ("hris", include_str!("hris.rs")),
        ("custom_csv", include_str!("custom_csv.rs")),
    ],
];

/// The first name of every path through the parent in `src`: `super::a::B`,
/// `crate::idp::a`, and each item of `super::{a::B, c}`.
fn uses(src: &str) -> Vec<&str> {
    let ident = |s: &str| {
        s.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len())
    };
    let mut out = Vec::new();
    for prefix in ["super::", "crate::idp::"] {
        for (at, _) in src.match_indices(prefix) {
            let rest = &src[at + prefix.len()..];
            let Some(group) = rest.strip_prefix('{') else {
                out.push(&rest[..ident(rest)]);
                continue;
            };
            // Items at the group's top level, up to its closing brace.
            let (mut depth, mut start) = (0, 0);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth > 0 => depth -= 1,
                    ',' | '}' if depth == 0 => {
                        let item = group[start..i].trim_start();
                        out.push(&item[..ident(item)]);
                        start = i + 1;
                        if c == '}' {
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

#[test]
fn every_module_uses_only_modules_below_it() {
    let rank = |name: &str| {
        LAYERS
            .iter()
            .position(|layer| layer.iter().any(|(m, _)| *m == name))
    };
    let mut wrong = Vec::new();
    for (level, layer) in LAYERS.iter().enumerate() {
        for (module, src) in *layer {
            for used in uses(src) {
                if rank(used).is_some_and(|r| r >= level) && used != *module {
                    wrong.push(format!("{module} uses {used}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "arrows must run one way (move what both need below both): {wrong:?}"
    );
}

#[test]
fn every_module_is_in_a_layer() {
    let declared = include_str!("mod.rs")
        .lines()
        .filter_map(|l| {
            l.trim_start_matches("pub ")
                .strip_prefix("mod ")?
                .strip_suffix(';')
        })
        .filter(|m| *m != "layers");
    let listed: Vec<&str> = LAYERS.iter().flat_map(|l| l.iter().map(|(m, _)| *m)).collect();
    for module in declared {
        assert!(
            listed.contains(&module),
            "idp::{module} is in no layer of layers.rs"
        );
    }
}

#[test]
fn uses_are_found_in_every_form() {
    let src = "use super::{IdpError, csv_table::{Row, Table}, sink};\n\
               use super::parallel::Block;\n\
               let b = super::source::BLOCK;\n\
               use crate::idp::okta::non_empty;\n\
               use super::*;";
    let found = uses(src);
    for name in ["IdpError", "csv_table", "sink", "parallel", "source", "okta"] {
        assert!(found.contains(&name), "{name} in {found:?}");
    }
    assert!(!found.contains(&"Row"), "only first names: {found:?}");
}
