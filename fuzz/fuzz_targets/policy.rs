//! Any text as a policy file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = deskaudit::policy::Policy::parse("fuzz.toml", text);
    }
});
