//! Role and group edges with the fewest calls. Where list objects already
//! carry `role_ids`/`group_ids` (the older behaviour) nothing more is asked.
//! Otherwise one `/admin/groups/{id}/agents` listing covers every member of a
//! group, and `GET /agents/{id}` is left for agents in no group. Group
//! membership itself comes from the groups' `agent_ids`.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt, stream};
use serde_json::Value;

use super::CollectError;
use super::client::{Client, Outcome};
use super::listing::list;
use super::merge::merge;
use crate::model::snapshot::{ChannelOutcome, ChannelRecord};

pub struct Fetched {
    pub results: Vec<(u64, Outcome)>,
    pub requests: u64,
}

/// `GET /agents/{id}` for every id, up to `in_flight` at once, in id order.
pub async fn details(client: &Client, ids: &[u64], in_flight: usize) -> Result<Fetched, CollectError> {
    let mut fetched: Vec<(u64, Outcome, u64)> = stream::iter(ids.iter().copied())
        .map(|id| async move {
            let url = client.url(&format!("/api/v2/agents/{id}"))?;
            let (outcome, used) = client.get_counted(&url).await?;
            Ok::<_, CollectError>((id, outcome, used))
        })
        .buffer_unordered(in_flight.max(1))
        .try_collect()
        .await?;
    fetched.sort_by_key(|(id, _, _)| *id);
    let requests = fetched.iter().map(|(_, _, used)| used).sum();
    Ok(Fetched {
        results: fetched
            .into_iter()
            .map(|(id, outcome, _)| (id, outcome))
            .collect(),
        requests,
    })
}

/// Adds `role_ids` (and `ticket_scope` where missing) to every agent that lacks them.
pub async fn fill(
    client: &Client,
    agents: &mut BTreeMap<u64, Value>,
    groups: &[Value],
    in_flight: usize,
) -> Result<Vec<ChannelRecord>, CollectError> {
    let needy: BTreeSet<u64> = agents
        .iter()
        .filter(|(_, a)| a.get("role_ids").is_none())
        .map(|(id, _)| *id)
        .collect();
    let mut records = Vec::new();
    if needy.is_empty() {
        records.push(ChannelRecord {
            name: "role and group edges".into(),
            outcome: ChannelOutcome::Other(
                "the agent lists carry role_ids and group_ids: no extra requests".into(),
            ),
            ..ChannelRecord::default()
        });
        return Ok(records);
    }

    let mut covered = BTreeSet::new();
    let with_needy: Vec<u64> = groups
        .iter()
        .filter(|g| {
            g.get("agent_ids")
                .and_then(Value::as_array)
                .is_some_and(|ids| ids.iter().filter_map(Value::as_u64).any(|id| needy.contains(&id)))
        })
        .filter_map(|g| g.get("id").and_then(Value::as_u64))
        .collect();
    if !with_needy.is_empty() {
        let listings: Vec<_> = stream::iter(with_needy.iter().copied())
            .map(|gid| async move {
                list(
                    client,
                    &format!("/api/v2/admin/groups/{gid}/agents"),
                    "",
                    in_flight,
                )
                .await
            })
            .buffer_unordered(in_flight.max(1))
            .try_collect()
            .await?;
        let mut record = ChannelRecord {
            name: "GET /api/v2/admin/groups/{id}/agents".into(),
            ..ChannelRecord::default()
        };
        let mut unavailable = 0;
        for listing in listings {
            record.requests += listing.record.requests;
            record.pages += listing.record.pages;
            if !listing.offered {
                unavailable += 1;
                continue;
            }
            for member in listing.items {
                let Some(id) = member.get("id").and_then(Value::as_u64) else {
                    continue;
                };
                if !needy.contains(&id) || covered.contains(&id) {
                    continue;
                }
                let Some(roles) = member.get("role_ids").filter(|r| r.is_array()) else {
                    continue;
                };
                let mut fields = serde_json::Map::new();
                fields.insert("id".into(), id.into());
                fields.insert("role_ids".into(), roles.clone());
                let agent = agents.get(&id);
                if agent.is_some_and(|a| a.get("ticket_scope").is_none())
                    && let Some(scope) = member.get("ticket_scope")
                {
                    fields.insert("ticket_scope".into(), scope.clone());
                }
                if agent.is_some() {
                    merge(agents, Value::Object(fields), &record.name)?;
                    covered.insert(id);
                }
            }
        }
        record.objects = covered.len() as u64;
        record.outcome = ChannelOutcome::complete_with(format!(
            "roles for {} agents from {} group listings{}",
            covered.len(),
            with_needy.len(),
            if unavailable > 0 {
                format!(" ({unavailable} not offered; those members fall back to details)")
            } else {
                String::new()
            }
        ));
        records.push(record);
    }

    let rest: Vec<u64> = needy.difference(&covered).copied().collect();
    let fetched = details(client, &rest, in_flight).await?;
    let count = fetched.results.len() as u64;
    for (id, outcome) in fetched.results {
        match outcome {
            Outcome::Ok(resp) => merge(agents, resp.body, "GET /api/v2/agents/{id}")?,
            _ => {
                return Err(CollectError::Incomplete(format!(
                    "agent {id} was listed but GET /api/v2/agents/{id} did not return it: it changed during collection; run again"
                )));
            }
        }
    }
    records.push(ChannelRecord {
        name: "GET /api/v2/agents/{id}".into(),
        requests: fetched.requests,
        pages: 0,
        objects: count,
        outcome: ChannelOutcome::complete_with(format!("details for {count} agents in no group")),
    });
    Ok(records)
}
