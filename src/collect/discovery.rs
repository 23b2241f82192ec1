//! Discovery: every channel that can reveal an agent, merged by id. The
//! documented API hides deactivated agents from the plain list; an older
//! behaviour needs `?active=false`; group lists and the previous snapshot
//! catch the rest. Independent channels run concurrently.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::CollectError;
use super::client::{Client, Outcome};
use super::listing::{Listing, list};
use super::membership;
use super::merge::{merge, merge_all};
use crate::model::snapshot::{ChannelOutcome, ChannelRecord};

pub struct Found {
    pub agents: Vec<Value>,
    pub roles: Vec<Value>,
    pub groups: Vec<Value>,
    pub contacts: Vec<Value>,
    pub channels: Vec<ChannelRecord>,
    pub account_total: Option<u64>,
}

pub async fn discover(
    client: &Client,
    previous_ids: &[u64],
    in_flight: usize,
) -> Result<Found, CollectError> {
    let mut agents: BTreeMap<u64, Value> = BTreeMap::new();
    let mut channels = Vec::new();

    client.progress().phase("listing agents");
    let plain = list(client, "/api/v2/agents", "", in_flight).await?.required()?;
    check_not_truncated(&plain)?;
    merge_all(&mut agents, plain.items, &plain.record.name)?;
    channels.push(plain.record);

    let (inactive, availability, roles, admin_groups, account) = tokio::try_join!(
        list(client, "/api/v2/agents", "active=false", in_flight),
        list(client, "/api/v2/agents", "only=availability", in_flight),
        list(client, "/api/v2/roles", "", in_flight),
        list(client, "/api/v2/admin/groups", "", in_flight),
        account_total(client),
    )?;
    for listing in [inactive, availability] {
        merge_all(&mut agents, listing.items, &listing.record.name)?;
        channels.push(listing.record);
    }
    client.progress().agents_found(agents.len() as u64);
    let roles = roles.required()?;
    channels.push(roles.record);
    let groups = if admin_groups.offered {
        channels.push(admin_groups.record);
        admin_groups.items
    } else {
        channels.push(admin_groups.record);
        let groups = list(client, "/api/v2/groups", "", in_flight).await?.required()?;
        channels.push(groups.record);
        groups.items
    };

    // Ids that a group list or the previous snapshot names but no agent list returned.
    let named_in_groups: BTreeSet<u64> = groups.iter().flat_map(member_ids).collect();
    let unseen_in_groups: BTreeSet<u64> = named_in_groups
        .iter()
        .copied()
        .filter(|id| !agents.contains_key(id))
        .collect();
    let unseen_previous: BTreeSet<u64> = previous_ids
        .iter()
        .copied()
        .filter(|id| !agents.contains_key(id))
        .collect();

    client.progress().phase("roles and groups per agent");
    let edges = membership::fill(client, &mut agents, &groups, in_flight).await?;
    channels.extend(edges);

    client.progress().phase("agents named elsewhere");
    let mut contacts = Vec::new();
    let unseen: Vec<u64> = unseen_in_groups.union(&unseen_previous).copied().collect();
    let fetched = membership::details(client, &unseen, in_flight).await?;
    let (mut found, mut demoted) = (0, 0);
    for (id, outcome) in fetched.results {
        match outcome {
            Outcome::Ok(resp) => {
                merge(&mut agents, resp.body, "GET /api/v2/agents/{id}")?;
                found += 1;
            }
            Outcome::NotFound if unseen_previous.contains(&id) => {
                // Deleted since the last review: Freshdesk demotes it to a contact.
                let url = client.url(&format!("/api/v2/contacts/{id}"))?;
                if let Outcome::Ok(resp) = client.get(&url).await? {
                    contacts.push(resp.body);
                }
                demoted += 1;
            }
            _ => {
                return Err(CollectError::Incomplete(format!(
                    "agent {id} is a member of a group but GET /api/v2/agents/{id} did not return it"
                )));
            }
        }
    }
    channels.push(ChannelRecord {
        name: "ids named elsewhere (group lists, previous snapshot)".into(),
        requests: fetched.requests + demoted,
        pages: 0,
        objects: found,
        outcome: ChannelOutcome::complete_with(format!(
            "{} only in group lists, {} from the previous snapshot, {found} found, {demoted} deleted and demoted to contacts",
            unseen_in_groups.len(),
            unseen_previous.len()
        )),
    });

    let (account_total, account_record) = account;
    channels.push(account_record);
    if let Some(total) = account_total
        && (agents.len() as u64) < total
    {
        return Err(CollectError::Incomplete(format!(
            "the account reports {total} agents but only {} were found",
            agents.len()
        )));
    }
    client.progress().agents_found(agents.len() as u64);

    Ok(Found {
        agents: agents.into_values().collect(),
        roles: roles.items,
        groups,
        contacts,
        channels,
        account_total,
    })
}

fn member_ids(group: &Value) -> Vec<u64> {
    group
        .get("agent_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

async fn account_total(client: &Client) -> Result<(Option<u64>, ChannelRecord), CollectError> {
    let url = client.url("/api/v2/account")?;
    let (result, requests) = match client.get_counted(&url).await {
        Ok((outcome, used)) => (Ok(outcome), used),
        Err(e) => (Err(e), 1),
    };
    let (total, outcome) = match result {
        Ok(Outcome::Ok(resp)) => {
            let total = resp.body.get("total_agents").and_then(|t| match t {
                Value::Object(parts) => Some(parts.values().filter_map(Value::as_u64).sum()),
                other => other.as_u64(),
            });
            let outcome = ChannelOutcome::Other(match total {
                Some(n) => format!("account reports {n} agents"),
                None => "no total_agents in the response".to_owned(),
            });
            (total, outcome)
        }
        Ok(_) => (None, ChannelOutcome::not_offered(None)),
        Err(CollectError::Permission { .. }) => (
            None,
            ChannelOutcome::Other("not permitted for this key (HTTP 403)".to_owned()),
        ),
        Err(e) => return Err(e),
    };
    let record = ChannelRecord {
        name: "GET /api/v2/account".into(),
        requests,
        pages: 0,
        objects: u64::from(total.is_some()),
        outcome,
    };
    Ok((total, record))
}

/// A non-admin key gets agents without emails: an audit of that would resolve nobody.
fn check_not_truncated(listing: &Listing) -> Result<(), CollectError> {
    let missing = listing
        .items
        .iter()
        .filter(|a| {
            let email = a.pointer("/contact/email").or_else(|| a.get("email"));
            !email.is_some_and(Value::is_string)
        })
        .count();
    if missing > 0 {
        return Err(CollectError::Truncated {
            endpoint: listing.record.name.clone(),
            reason: format!("{missing} of {} agents have no email", listing.items.len()),
        });
    }
    Ok(())
}
