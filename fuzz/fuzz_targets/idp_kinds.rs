//! Any bytes read as each kind in turn (the first byte picks it), so every
//! reader sees input its detector would have refused.
#![no_main]

use deskaudit::idp::IdpKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let kind = IdpKind::ALL[usize::from(pick) % IdpKind::ALL.len()];
    let _ = deskaudit::idp::read_bytes("fuzz", Some(kind), rest, jiff::Timestamp::UNIX_EPOCH);
});
