//! A snapshot file's agents as the model reads them (lenient parsing, statuses).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(snapshot) = deskaudit::model::Snapshot::from_slice("fuzz.json", data) {
        let _ = deskaudit::model::Directory::from_snapshot(&snapshot);
    }
});
