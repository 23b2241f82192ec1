//! Discovery: every channel that can reveal an agent, merged by id. The
//! documented API hides deactivated agents from the plain list; an older
//! behaviour needs `?active=false`; group lists and the previous snapshot
//! catch the rest. A channel the account lacks (HTTP 400/404) is recorded,
//! not fatal; anything else that fails stops the run.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::CollectError;
use super::client::{Client, Outcome};
use crate::model::snapshot::ChannelRecord;

const PER_PAGE: usize = 100;
/// A runaway-pagination guard far above any real account (100 × 100 000 agents).
const MAX_PAGES: u64 = 100_000;

pub struct Found {
    pub agents: Vec<Value>,
    pub roles: Vec<Value>,
    pub groups: Vec<Value>,
    pub contacts: Vec<Value>,
    pub channels: Vec<ChannelRecord>,
    pub account_total: Option<u64>,
}

/// Objects from one paginated channel, or why the channel is not there.
struct Listing {
    items: Vec<Value>,
    record: ChannelRecord,
    offered: bool,
}

pub async fn discover(client: &mut Client, previous_ids: &[u64]) -> Result<Found, CollectError> {
    let mut agents: BTreeMap<u64, Value> = BTreeMap::new();
    let mut channels = Vec::new();

    let plain = list(client, "/api/v2/agents", "").await?;
    if !plain.offered {
        return Err(CollectError::Protocol {
            endpoint: plain.record.name,
            reason: plain.record.outcome,
        });
    }
    check_not_truncated(&plain)?;
    merge_all(&mut agents, plain.items, &plain.record.name)?;
    channels.push(plain.record);

    for filter in ["active=false", "only=availability"] {
        let listing = list(client, "/api/v2/agents", filter).await?;
        merge_all(&mut agents, listing.items, &listing.record.name)?;
        channels.push(listing.record);
    }

    let roles = required(client, "/api/v2/roles", &mut channels).await?;
    let admin_groups = list(client, "/api/v2/admin/groups", "").await?;
    let groups = if admin_groups.offered {
        let items = admin_groups.items.clone();
        channels.push(admin_groups.record);
        items
    } else {
        channels.push(admin_groups.record);
        required(client, "/api/v2/groups", &mut channels).await?
    };

    // Ids that some channel names but no agent list returned.
    let mut unseen: BTreeSet<u64> = BTreeSet::new();
    for group in &groups {
        if let Some(ids) = group.get("agent_ids").and_then(Value::as_array) {
            unseen.extend(
                ids.iter()
                    .filter_map(Value::as_u64)
                    .filter(|id| !agents.contains_key(id)),
            );
        }
    }
    let from_groups = unseen.len();
    let from_previous: BTreeSet<u64> = previous_ids
        .iter()
        .copied()
        .filter(|id| !agents.contains_key(id))
        .collect();
    unseen.extend(&from_previous);

    // Details: for agents found but lacking membership, and for ids only named elsewhere.
    let mut need_detail: Vec<u64> = agents
        .iter()
        .filter(|(_, a)| a.get("role_ids").is_none() || a.get("group_ids").is_none())
        .map(|(id, _)| *id)
        .collect();
    need_detail.extend(&unseen);
    let before = client.stats.requests;
    let mut contacts = Vec::new();
    let (mut fetched, mut demoted) = (0, 0);
    for id in need_detail {
        let url = client.url(&format!("/api/v2/agents/{id}"))?;
        match client.get(&url).await? {
            Outcome::Ok(resp) => {
                merge(&mut agents, resp.body, "GET /api/v2/agents/{id}")?;
                fetched += 1;
            }
            Outcome::NotFound if from_previous.contains(&id) => {
                // Deleted since the last review: Freshdesk demotes it to a contact.
                let url = client.url(&format!("/api/v2/contacts/{id}"))?;
                if let Outcome::Ok(resp) = client.get(&url).await? {
                    contacts.push(resp.body);
                }
                demoted += 1;
            }
            Outcome::NotFound => {
                return Err(CollectError::Incomplete(format!(
                    "agent {id} was listed but GET /api/v2/agents/{id} says 404: it changed during collection; run again"
                )));
            }
            Outcome::BadRequest(body) => {
                return Err(CollectError::Protocol {
                    endpoint: "GET /api/v2/agents/{id}".into(),
                    reason: format!("HTTP 400: {body}"),
                });
            }
        }
    }
    channels.push(ChannelRecord {
        name: "GET /api/v2/agents/{id}".into(),
        requests: client.stats.requests - before,
        pages: 0,
        objects: fetched,
        outcome: format!(
            "complete: {fetched} details ({from_groups} ids only in group lists, {} from the previous snapshot, {demoted} deleted and demoted to contacts)",
            from_previous.len()
        ),
    });

    let account_total = account_total(client, &mut channels).await?;
    if let Some(total) = account_total
        && (agents.len() as u64) < total
    {
        return Err(CollectError::Incomplete(format!(
            "the account reports {total} agents but only {} were found",
            agents.len()
        )));
    }

    Ok(Found {
        agents: agents.into_values().collect(),
        roles,
        groups,
        contacts,
        channels,
        account_total,
    })
}

/// Pages through `path?filter`: follows `link: rel="next"`; where the API sends
/// no link at all, a full page means there may be another.
async fn list(client: &mut Client, path: &str, filter: &str) -> Result<Listing, CollectError> {
    let name = if filter.is_empty() {
        format!("GET {path}")
    } else {
        format!("GET {path}?{filter}")
    };
    let sep = if filter.is_empty() { "" } else { "&" };
    let before = client.stats.requests;
    let mut items = Vec::new();
    let mut pages = 0;
    let mut saw_link = false;
    let mut url = client.url(&format!("{path}?{filter}{sep}per_page={PER_PAGE}&page=1"))?;
    let outcome = loop {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(CollectError::Protocol {
                endpoint: name,
                reason: format!("more than {MAX_PAGES} pages"),
            });
        }
        let resp = match client.get(&url).await? {
            Outcome::Ok(resp) => resp,
            Outcome::BadRequest(body) if pages == 1 => {
                let code = first_error_code(&body);
                break Err(format!("not offered by this account (HTTP 400 {code})"));
            }
            Outcome::NotFound if pages == 1 => break Err("not offered by this account (HTTP 404)".to_owned()),
            Outcome::BadRequest(body) => {
                return Err(CollectError::Protocol {
                    endpoint: name,
                    reason: format!("HTTP 400 on page {pages}: {body}"),
                });
            }
            Outcome::NotFound => {
                return Err(CollectError::Protocol {
                    endpoint: name,
                    reason: format!("HTTP 404 on page {pages}"),
                });
            }
        };
        let Value::Array(page) = resp.body else {
            return Err(CollectError::Protocol {
                endpoint: name,
                reason: format!("page {pages} is not a JSON array"),
            });
        };
        let count = page.len();
        items.extend(page);
        match resp.next {
            Some(next) => {
                saw_link = true;
                url = next;
            }
            None if !saw_link && count >= PER_PAGE => {
                url = client.url(&format!(
                    "{path}?{filter}{sep}per_page={PER_PAGE}&page={}",
                    pages + 1
                ))?;
            }
            None => {
                let how = if saw_link {
                    "last page had no next link"
                } else {
                    "short page"
                };
                break Ok(format!("complete ({how})"));
            }
        }
    };
    let offered = outcome.is_ok();
    Ok(Listing {
        record: ChannelRecord {
            name,
            requests: client.stats.requests - before,
            pages: if offered { pages } else { 0 },
            objects: items.len() as u64,
            outcome: outcome.unwrap_or_else(|e| e),
        },
        items,
        offered,
    })
}

/// A listing the audit cannot do without.
async fn required(
    client: &mut Client,
    path: &str,
    channels: &mut Vec<ChannelRecord>,
) -> Result<Vec<Value>, CollectError> {
    let listing = list(client, path, "").await?;
    if !listing.offered {
        return Err(CollectError::Protocol {
            endpoint: listing.record.name,
            reason: listing.record.outcome,
        });
    }
    channels.push(listing.record);
    Ok(listing.items)
}

async fn account_total(
    client: &mut Client,
    channels: &mut Vec<ChannelRecord>,
) -> Result<Option<u64>, CollectError> {
    let before = client.stats.requests;
    let url = client.url("/api/v2/account")?;
    let (total, outcome) = match client.get(&url).await {
        Ok(Outcome::Ok(resp)) => {
            let total = resp.body.get("total_agents").and_then(|t| match t {
                Value::Object(parts) => Some(parts.values().filter_map(Value::as_u64).sum()),
                other => other.as_u64(),
            });
            let outcome = match total {
                Some(n) => format!("account reports {n} agents"),
                None => "no total_agents in the response".to_owned(),
            };
            (total, outcome)
        }
        Ok(_) => (None, "not offered by this account".to_owned()),
        Err(CollectError::Permission { .. }) => (None, "not permitted for this key (HTTP 403)".to_owned()),
        Err(e) => return Err(e),
    };
    channels.push(ChannelRecord {
        name: "GET /api/v2/account".into(),
        requests: client.stats.requests - before,
        pages: 0,
        objects: u64::from(total.is_some()),
        outcome,
    });
    Ok(total)
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

fn merge_all(
    agents: &mut BTreeMap<u64, Value>,
    items: Vec<Value>,
    channel: &str,
) -> Result<(), CollectError> {
    items
        .into_iter()
        .try_for_each(|item| merge(agents, item, channel))
}

/// Later (richer) objects add and overwrite fields; unknown fields are kept.
fn merge(agents: &mut BTreeMap<u64, Value>, item: Value, channel: &str) -> Result<(), CollectError> {
    let id = item
        .get("id")
        .and_then(Value::as_u64)
        .ok_or_else(|| CollectError::Protocol {
            endpoint: channel.to_owned(),
            reason: "an agent object has no numeric id".into(),
        })?;
    let Value::Object(fields) = item else {
        return Err(CollectError::Protocol {
            endpoint: channel.to_owned(),
            reason: format!("agent {id} is not a JSON object"),
        });
    };
    match agents.get_mut(&id) {
        Some(Value::Object(existing)) => deep_merge(existing, fields),
        _ => {
            agents.insert(id, Value::Object(fields));
        }
    }
    Ok(())
}

/// Nested objects merge field by field, so a channel that sends a partial
/// `contact` cannot erase what a richer one said.
fn deep_merge(into: &mut serde_json::Map<String, Value>, from: serde_json::Map<String, Value>) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Object(a)), Value::Object(b)) => deep_merge(a, b),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

fn first_error_code(body: &Value) -> String {
    body.pointer("/errors/0/code")
        .or_else(|| body.get("code"))
        .and_then(Value::as_str)
        .unwrap_or("bad request")
        .to_owned()
}
