//! Any bytes as an IdP export of undetected kind: detection and every reader.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let as_of = jiff::Timestamp::UNIX_EPOCH;
    let _ = deskaudit::idp::read_bytes("fuzz.csv", None, data, as_of);
});
