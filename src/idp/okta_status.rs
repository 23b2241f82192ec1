//! Okta's user statuses, shared by its two readers (the CSV reports in
//! `okta`, the API's JSON in `okta_json`) so that neither reader imports
//! the other (`layers` checks).

use super::IdpStatus;

/// The statuses Okta's API writes, for messages.
pub(crate) const ACCEPTED: &str =
    "ACTIVE, STAGED, PROVISIONED, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED";

/// API forms (`LOCKED_OUT`) and admin-console labels (`Locked out`) alike,
/// compared without allocating (this runs once per row of large exports).
pub(crate) fn status(raw: &str) -> Option<IdpStatus> {
    status_of(raw.trim().as_bytes())
}

/// As [`status`], on a cell's trimmed bytes (the CSV hot path).
pub(crate) fn status_of(raw: &[u8]) -> Option<IdpStatus> {
    const TABLE: &[(&str, IdpStatus)] = &[
        ("ACTIVE", IdpStatus::Active),
        ("RECOVERY", IdpStatus::Active),
        ("PASSWORD_RESET", IdpStatus::Active),
        ("PASSWORD_EXPIRED", IdpStatus::Active),
        ("LOCKED_OUT", IdpStatus::Active),
        ("STAGED", IdpStatus::Staged),
        ("PROVISIONED", IdpStatus::Staged),
        ("PENDING_USER_ACTION", IdpStatus::Staged),
        ("SUSPENDED", IdpStatus::Suspended),
        ("DEPROVISIONED", IdpStatus::Deprovisioned),
        ("DEACTIVATED", IdpStatus::Deprovisioned),
    ];
    TABLE.iter().find_map(|(name, status)| {
        let same = name.len() == raw.len()
            && name.bytes().zip(raw).all(|(n, r)| match r {
                b' ' | b'-' => n == b'_',
                r => n == r.to_ascii_uppercase(),
            });
        same.then_some(*status)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_in_api_and_label_form() {
        let cases = [
            ("ACTIVE", IdpStatus::Active),
            ("Password reset", IdpStatus::Active),
            ("Locked out", IdpStatus::Active),
            ("PASSWORD_EXPIRED", IdpStatus::Active),
            ("RECOVERY", IdpStatus::Active),
            ("STAGED", IdpStatus::Staged),
            ("Pending user action", IdpStatus::Staged),
            ("PROVISIONED", IdpStatus::Staged),
            ("Suspended", IdpStatus::Suspended),
            ("Deactivated", IdpStatus::Deprovisioned),
            ("DEPROVISIONED", IdpStatus::Deprovisioned),
        ];
        for (raw, want) in cases {
            assert_eq!(status(raw), Some(want), "{raw}");
        }
        assert_eq!(status("ENABLED"), None);
        assert_eq!(status("ACTIVE_"), None);
    }

    #[test]
    fn every_status_the_messages_name_is_read() {
        for name in ACCEPTED.split(", ") {
            assert!(status(name).is_some(), "{name}");
        }
    }
}
