//! One insta snapshot test per rule, each on a small fixture of its own under
//! `fixtures/rules/<rule>/`, showing it fire and its near-misses stay quiet.

#[path = "rules/harness.rs"]
mod harness;

#[path = "rules/admin_count.rs"]
mod admin_count;
#[path = "rules/broad_ticket_scope.rs"]
mod broad_ticket_scope;
#[path = "rules/deactivated_privileged.rs"]
mod deactivated_privileged;
#[path = "rules/dormant_agent.rs"]
mod dormant_agent;
#[path = "rules/duplicate_identity.rs"]
mod duplicate_identity;
#[path = "rules/exceptions.rs"]
mod exceptions;
#[path = "rules/external_domain.rs"]
mod external_domain;
#[path = "rules/idp_not_assigned.rs"]
mod idp_not_assigned;
#[path = "rules/orphaned_agent.rs"]
mod orphaned_agent;
#[path = "rules/pre_start_access.rs"]
mod pre_start_access;
#[path = "rules/privileged_agent.rs"]
mod privileged_agent;
#[path = "rules/role_drift.rs"]
mod role_drift;
#[path = "rules/shared_mailbox.rs"]
mod shared_mailbox;
#[path = "rules/stale_invite.rs"]
mod stale_invite;
#[path = "rules/terminated_active.rs"]
mod terminated_active;
