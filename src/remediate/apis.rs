//! The API of each account a plan is for: `apply` sends every action
//! through its own account's client (its own key, base URL and rate limit),
//! never through another's.

use std::collections::BTreeMap;

use serde_json::Value;

use super::RemediateError;
use super::apply::Api;
use super::plan::Plan;

/// One client per account, by domain.
#[derive(Default)]
pub struct Apis<'a> {
    by_domain: BTreeMap<String, &'a mut dyn Api>,
}

impl<'a> Apis<'a> {
    /// The client of one account.
    pub fn one(domain: &str, api: &'a mut dyn Api) -> Apis<'a> {
        let mut apis = Apis::default();
        apis.add(domain, api);
        apis
    }

    pub fn add(&mut self, domain: &str, api: &'a mut dyn Api) {
        self.by_domain.insert(domain.to_owned(), api);
    }

    /// Refuses a plan with an account that has no client here: nothing of
    /// it is sent anywhere then.
    pub fn check_covers(&self, plan: &Plan, file: &str) -> Result<(), RemediateError> {
        let missing = plan.accounts_missing(|d| self.by_domain.contains_key(d));
        if missing.is_empty() {
            return Ok(());
        }
        Err(RemediateError::Plan {
            file: file.to_owned(),
            reason: format!(
                "it has actions for {}, which the accounts given do not hold ({}): nothing was sent",
                missing.join(", "),
                self.by_domain.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }

    pub(super) fn get(&mut self, domain: &str) -> Option<&mut (dyn Api + 'a)> {
        self.by_domain.get_mut(domain).map(|api| &mut **api)
    }
}

/// Whose key each account's client uses (`GET /api/v2/agents/me`): the
/// agent id, or why it could not be asked. A plan of one account stops at
/// its error (as before several accounts); with several, one account's
/// refused key fails that account's writes only, and the others go on.
pub(super) fn key_owners(
    plan: &Plan,
    apis: &mut Apis,
) -> Result<BTreeMap<String, Result<u64, String>>, RemediateError> {
    let accounts = plan.all_accounts();
    let mut owners = BTreeMap::new();
    let mut first_error = None;
    for domain in &accounts {
        let Some(api) = apis.get(domain) else {
            continue;
        };
        match api.me() {
            Ok(me) => {
                owners.insert(
                    (*domain).to_owned(),
                    Ok(me.get("id").and_then(Value::as_u64).unwrap_or(0)),
                );
            }
            Err(e) => {
                tracing::warn!(account = domain, error = %e, "cannot use this account's key");
                owners.insert((*domain).to_owned(), Err(e.to_string()));
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if accounts.len() == 1 || owners.values().all(Result::is_err) => Err(e.into()),
        _ => Ok(owners),
    }
}
