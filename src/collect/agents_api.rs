//! The agent endpoints one call at a time, for `remediate apply`: a blocking
//! facade over the async client, so everything outside `collect` stays
//! synchronous. Reads are retried as every read is; a write goes out through
//! [`Client::write_once`], which never repeats it once it may have arrived.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::CollectError;
use super::client::{Client, Outcome, Written};
use super::governor::Governor;
use super::key::ApiKey;
use super::progress::Progress;
use super::target::Target;

/// What a read of one agent found.
#[derive(Clone, Debug, PartialEq)]
pub enum AgentRead {
    /// The agent object as the API returned it.
    Found(Value),
    /// 404: no such agent (the documented API after a delete: it is a contact now).
    Gone,
}

/// The account's agent endpoints, over one rate-limit governor.
pub struct AgentApi {
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl AgentApi {
    /// Keeps `reserve_pct` of the account's limit for other integrations, as `collect` does.
    pub fn connect(
        target: &Target,
        key: ApiKey,
        reserve_pct: u8,
        rate_window: Duration,
    ) -> Result<AgentApi, CollectError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CollectError::Setup(format!("cannot start the async runtime: {e}")))?;
        // One request at a time: each step is read, decided, then written.
        let governor = Governor::new(reserve_pct, rate_window, 1);
        let client = Client::new(target.base_url.clone(), key, governor, Progress::new(true))?;
        Ok(AgentApi { runtime, client })
    }

    /// `GET /api/v2/agents/me`: the agent the API key belongs to.
    pub fn me(&self) -> Result<Value, CollectError> {
        match self.get("api/v2/agents/me")? {
            AgentRead::Found(me) => Ok(me),
            AgentRead::Gone => Err(CollectError::Protocol {
                endpoint: "GET /api/v2/agents/me".into(),
                reason: "HTTP 404: the key's own agent is not found".into(),
            }),
        }
    }

    /// `GET /api/v2/agents/{id}`.
    pub fn agent(&self, id: u64) -> Result<AgentRead, CollectError> {
        self.get(&format!("api/v2/agents/{id}"))
    }

    /// `DELETE /api/v2/agents/{id}`: deactivates the agent (the documented
    /// API demotes it to a contact; the older guide's marks it inactive).
    pub fn delete_agent(&self, id: u64) -> Result<Written, CollectError> {
        let url = self.client.url(&format!("api/v2/agents/{id}"))?;
        self.runtime
            .block_on(self.client.write_once(Method::DELETE, &url, None))
    }

    /// `PUT /api/v2/agents/{id}` with `fields`.
    pub fn update_agent(&self, id: u64, fields: &Value) -> Result<Written, CollectError> {
        let url = self.client.url(&format!("api/v2/agents/{id}"))?;
        self.runtime
            .block_on(self.client.write_once(Method::PUT, &url, Some(fields)))
    }

    /// Requests sent so far (retries included).
    pub fn requests(&self) -> u64 {
        self.client.stats().requests
    }

    fn get(&self, path: &str) -> Result<AgentRead, CollectError> {
        let url = self.client.url(path)?;
        match self.runtime.block_on(self.client.get(&url))? {
            Outcome::Ok(response) => Ok(AgentRead::Found(response.body)),
            Outcome::NotFound => Ok(AgentRead::Gone),
            Outcome::BadRequest(body) => Err(CollectError::Protocol {
                endpoint: format!("GET /{path}"),
                reason: format!("HTTP 400: {body}"),
            }),
        }
    }
}
