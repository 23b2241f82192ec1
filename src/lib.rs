//! deskaudit: an identity-graph access auditor for Freshdesk.
//!
//! Data flows one way: `cli` → `collect` (the only async part) → snapshot
//! file → `model` → `graph` (+ `idp` identities) → `leavers` → `rules` →
//! findings registry → `report`. `catalogue` (severities, rule ids) sits below both
//! `policy` and `rules`, so neither imports the other to borrow a type. The
//! simulator (`sim`) serves a fixture account over HTTP for the demo and the
//! tests; it shares no logic with the collector.

#![forbid(unsafe_code)]

// The public surface is what the binary, the integration tests, the
// benchmarks and the fuzz targets use: the CLI and its commands, collection,
// the snapshot model, IdP readers, the graph, policy, rules, run directories,
// evidence, review and the simulator. The rest is internal to the crate.
pub mod cli;
pub mod collect;
pub mod commands;
pub mod evidence;
pub mod graph;
pub mod idp;
pub mod leavers;
pub mod logging;
pub mod model;
pub mod policy;
pub mod remediate;
pub mod review;
pub mod rules;
pub mod rundir;
pub mod sim;
pub mod watch;

mod accounts;
mod catalogue;
mod diff;
mod report;
mod text;
