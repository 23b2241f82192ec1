//! Pagination: follow `link: rel="next"`; where an API sends no link at all,
//! a full page means there may be another. A channel the account does not
//! offer (HTTP 400 `invalid_field` or 404 on the first page) is a result, not
//! an error.

use futures::{StreamExt, TryStreamExt, stream};
use serde_json::Value;

use super::CollectError;
use super::client::{Client, Outcome};
use crate::model::snapshot::{ChannelOutcome, ChannelRecord};

pub const PER_PAGE: usize = 100;
/// A runaway-pagination guard far above any real account.
const MAX_PAGES: u64 = 100_000;

/// Objects from one paginated channel, or why the channel is not there.
pub struct Listing {
    pub items: Vec<Value>,
    pub record: ChannelRecord,
    pub offered: bool,
}

impl Listing {
    /// The listing, or an error when the audit cannot do without it.
    pub fn required(self) -> Result<Listing, CollectError> {
        if self.offered {
            Ok(self)
        } else {
            Err(CollectError::Protocol {
                endpoint: self.record.name,
                reason: self.record.outcome.into(),
            })
        }
    }
}

/// One page as fetched: its objects, whether it is the last, and the requests it took.
struct Page {
    number: u64,
    items: Vec<Value>,
    last: bool,
    next: Option<reqwest::Url>,
    requests: u64,
}

/// Lists every page of `path?filter`. After the first page, when the API
/// numbers its pages (`link` points at `page=2`, or it sends no link and the
/// page was full), up to `in_flight` pages are fetched at once, so a long list
/// is bounded by the rate limit rather than by latency; at most `in_flight − 1`
/// requests past the end are wasted.
pub async fn list(
    client: &Client,
    path: &str,
    filter: &str,
    in_flight: usize,
) -> Result<Listing, CollectError> {
    let name = if filter.is_empty() {
        format!("GET {path}")
    } else {
        format!("GET {path}?{filter}")
    };
    let sep = if filter.is_empty() { "" } else { "&" };
    let page_url = |page: u64| client.url(&format!("{path}?{filter}{sep}per_page={PER_PAGE}&page={page}"));

    let first = match fetch_page(client, &name, page_url(1)?, 1, None).await? {
        Ok(page) => page,
        Err((why, requests)) => {
            return Ok(Listing {
                items: Vec::new(),
                record: ChannelRecord {
                    name,
                    requests,
                    pages: 0,
                    objects: 0,
                    // A first page refused is always the account not offering the channel.
                    outcome: ChannelOutcome::NotOffered(why),
                },
                offered: false,
            });
        }
    };
    let uses_links = first.next.is_some();
    let numbered = first.next.as_ref().is_none_or(|next| page_param(next) == Some(2));
    let mut requests = first.requests;
    let mut pages = 1;
    let mut items = first.items;
    let mut done = first.last;
    let mut next = first.next;
    while !done {
        if pages >= MAX_PAGES {
            return Err(CollectError::Protocol {
                endpoint: name,
                reason: format!("more than {MAX_PAGES} pages"),
            });
        }
        let batch: Vec<(u64, reqwest::Url)> = if numbered {
            (pages + 1..=pages + in_flight.max(1) as u64)
                .map(|n| page_url(n).map(|u| (n, u)))
                .collect::<Result<_, _>>()?
        } else {
            let url = next.take().ok_or_else(|| CollectError::Protocol {
                endpoint: name.clone(),
                reason: "a page without a next link ended the list early".into(),
            })?;
            vec![(pages + 1, url)]
        };
        let fetched: Vec<_> = stream::iter(batch)
            .map(|(n, url)| fetch_page(client, &name, url, n, Some(uses_links)))
            .buffered(in_flight.max(1))
            .try_collect()
            .await?;
        for page in fetched {
            if done {
                // A speculative page past the end: it must be empty, or the list moved under us.
                match page {
                    Ok(page) if !page.items.is_empty() => {
                        return Err(CollectError::Incomplete(format!(
                            "{name}: page {} has objects after the last page {pages}: the list changed during collection; run again",
                            page.number
                        )));
                    }
                    Ok(page) => requests += page.requests,
                    Err((_, used)) => requests += used,
                }
                continue;
            }
            let page = page.map_err(|(why, _)| CollectError::Protocol {
                endpoint: name.clone(),
                reason: why,
            })?;
            requests += page.requests;
            pages = page.number;
            items.extend(page.items);
            next = page.next;
            done = page.last;
        }
    }
    let how = if uses_links {
        "last page had no next link"
    } else {
        "short page"
    };
    Ok(Listing {
        record: ChannelRecord {
            name,
            requests,
            pages,
            objects: items.len() as u64,
            outcome: ChannelOutcome::complete(how),
        },
        items,
        offered: true,
    })
}

/// A page, or (with the requests it took) why there is none: on the first
/// page that means the channel is not offered.
async fn fetch_page(
    client: &Client,
    name: &str,
    url: reqwest::Url,
    number: u64,
    uses_links: Option<bool>,
) -> Result<Result<Page, (String, u64)>, CollectError> {
    let (outcome, requests) = client.get_counted(&url).await?;
    let why = match outcome {
        Outcome::Ok(resp) => return page(name, resp, number, uses_links, requests).map(Ok),
        Outcome::BadRequest(body) if number == 1 => {
            format!(
                "not offered by this account (HTTP 400 {})",
                first_error_code(&body)
            )
        }
        Outcome::NotFound if number == 1 => "not offered by this account (HTTP 404)".to_owned(),
        Outcome::BadRequest(body) => format!("HTTP 400 on page {number}: {body}"),
        Outcome::NotFound => format!("HTTP 404 on page {number}"),
    };
    Ok(Err((why, requests)))
}

fn page(
    name: &str,
    resp: super::client::Response,
    number: u64,
    uses_links: Option<bool>,
    requests: u64,
) -> Result<Page, CollectError> {
    let Value::Array(items) = resp.body else {
        return Err(CollectError::Protocol {
            endpoint: name.to_owned(),
            reason: format!("page {number} is not a JSON array"),
        });
    };
    let uses_links = uses_links.unwrap_or(resp.next.is_some());
    let last = items.len() < PER_PAGE || (uses_links && resp.next.is_none());
    Ok(Page {
        number,
        items,
        last,
        next: resp.next,
        requests,
    })
}

fn page_param(url: &reqwest::Url) -> Option<u64> {
    url.query_pairs()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
}

fn first_error_code(body: &Value) -> String {
    body.pointer("/errors/0/code")
        .or_else(|| body.get("code"))
        .and_then(Value::as_str)
        .unwrap_or("bad request")
        .to_owned()
}
