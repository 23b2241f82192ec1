//! The route table: which path is which endpoint, who may call it, and the
//! endpoints other than `/agents`.

use serde_json::Value;

use super::Profile;
use super::agents;
use super::data::{Org, id_of};
use super::pagination::{self, PageRequest, first};
use super::reply::Reply;

/// Who the API key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    Admin,
    /// A non-admin agent: truncated agent list, no admin endpoints.
    Agent,
}

/// An endpoint, parsed from the path (ids as numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Agents,
    AgentMe,
    Agent(u64),
    Roles,
    Role(u64),
    Groups,
    Group(u64),
    AdminGroups,
    AdminGroup(u64),
    AdminGroupAgents(u64),
    Account,
    Contacts,
    Contact(u64),
    /// `PUT /contacts/{id}/make_agent`: a write only.
    ContactMakeAgent(u64),
    Unmatched,
}

impl Route {
    pub(crate) fn parse(path: &str) -> Route {
        let Some(rest) = path.strip_prefix("/api/v2/") else {
            return Route::Unmatched;
        };
        let segments: Vec<&str> = rest.split('/').collect();
        // A non-numeric id is simply an unknown resource, as on Freshdesk.
        let id = |s: &str| s.parse::<u64>().unwrap_or(0);
        match segments.as_slice() {
            ["agents"] => Route::Agents,
            ["agents", "me"] => Route::AgentMe,
            ["agents", x] => Route::Agent(id(x)),
            ["roles"] => Route::Roles,
            ["roles", x] => Route::Role(id(x)),
            ["groups"] => Route::Groups,
            ["groups", x] => Route::Group(id(x)),
            ["admin", "groups"] => Route::AdminGroups,
            ["admin", "groups", x] => Route::AdminGroup(id(x)),
            ["admin", "groups", x, "agents"] => Route::AdminGroupAgents(id(x)),
            ["account"] => Route::Account,
            ["contacts"] => Route::Contacts,
            ["contacts", x] => Route::Contact(id(x)),
            ["contacts", x, "make_agent"] => Route::ContactMakeAgent(id(x)),
            _ => Route::Unmatched,
        }
    }

    /// The route template used as the request-count key.
    pub(crate) fn template(self) -> &'static str {
        match self {
            Route::Agents => "/api/v2/agents",
            Route::AgentMe => "/api/v2/agents/me",
            Route::Agent(_) => "/api/v2/agents/{id}",
            Route::Roles => "/api/v2/roles",
            Route::Role(_) => "/api/v2/roles/{id}",
            Route::Groups => "/api/v2/groups",
            Route::Group(_) => "/api/v2/groups/{id}",
            Route::AdminGroups => "/api/v2/admin/groups",
            Route::AdminGroup(_) => "/api/v2/admin/groups/{id}",
            Route::AdminGroupAgents(_) => "/api/v2/admin/groups/{id}/agents",
            Route::Account => "/api/v2/account",
            Route::Contacts => "/api/v2/contacts",
            Route::Contact(_) => "/api/v2/contacts/{id}",
            Route::ContactMakeAgent(_) => "/api/v2/contacts/{id}/make_agent",
            Route::Unmatched => "(unmatched)",
        }
    }

    /// The agent id in `/agents/{id}` (and the contact made an agent again).
    pub(crate) fn agent_id(self) -> Option<u64> {
        match self {
            Route::Agent(id) | Route::ContactMakeAgent(id) => Some(id),
            _ => None,
        }
    }

    fn admin_only(self) -> bool {
        matches!(
            self,
            Route::Roles
                | Route::Role(_)
                | Route::AdminGroups
                | Route::AdminGroup(_)
                | Route::AdminGroupAgents(_)
                | Route::Account
        )
    }

    fn is_admin_api(self) -> bool {
        matches!(
            self,
            Route::AdminGroups | Route::AdminGroup(_) | Route::AdminGroupAgents(_)
        )
    }
}

/// Everything a handler needs about one authenticated request.
pub(crate) struct Ctx<'a> {
    pub(crate) org: &'a Org,
    pub(crate) profile: Profile,
    pub(crate) caller: Caller,
    pub(crate) params: &'a [(String, String)],
    /// `http://host:port`, for `link` headers.
    pub(crate) base: &'a str,
    pub(crate) path: &'a str,
}

impl Ctx<'_> {
    /// One page of `items` in `view` form, with a `link: rel="next"` header
    /// when a later page has items (documented profile only).
    pub(crate) fn paged(
        &self,
        request: PageRequest,
        items: &[&Value],
        view: impl Fn(&Value) -> Value,
    ) -> Reply {
        let (page, more) = pagination::slice(items, request);
        let reply = Reply::ok(Value::Array(page.iter().map(|item| view(item)).collect()));
        if more && self.profile == Profile::Documented {
            let link = pagination::next_link(self.base, self.path, self.params, request);
            reply.with_header("link", link)
        } else {
            reply
        }
    }

    fn paged_or_invalid(&self, items: &[&Value], view: impl Fn(&Value) -> Value) -> Reply {
        match pagination::parse(self.params) {
            Ok(request) => self.paged(request, items, view),
            Err(errors) => Reply::validation(errors),
        }
    }
}

/// Answers an authenticated GET.
pub(crate) fn dispatch(ctx: &Ctx<'_>, route: Route) -> Reply {
    if route.is_admin_api() && ctx.profile == Profile::Seed {
        return Reply::not_found();
    }
    if route.admin_only() && ctx.caller != Caller::Admin {
        return Reply::forbidden();
    }
    let org = ctx.org;
    let found = |value: Option<&Value>| value.map_or_else(Reply::not_found, |v| Reply::ok(v.clone()));
    match route {
        Route::Agents => agents::list(ctx),
        Route::AgentMe => agents::me(ctx),
        Route::Agent(id) => agents::detail(ctx, id),
        Route::Roles => Reply::ok(Value::Array(org.roles.clone())),
        Route::Role(id) => found(org.role(id)),
        Route::Groups => {
            let all: Vec<&Value> = org.groups.iter().collect();
            ctx.paged_or_invalid(&all, Value::clone)
        }
        Route::Group(id) | Route::AdminGroup(id) => match org.group(id) {
            Some(group) => Reply::ok(org.group_with_members(group)),
            None => Reply::not_found(),
        },
        Route::AdminGroups => {
            let all: Vec<&Value> = org.groups.iter().collect();
            ctx.paged_or_invalid(&all, |group| org.group_with_members(group))
        }
        Route::AdminGroupAgents(id) => match org.members(id) {
            Some(members) => {
                let agents: Vec<&Value> = members.iter().filter_map(|&a| org.agent(a)).collect();
                ctx.paged_or_invalid(&agents, group_member)
            }
            None => Reply::not_found(),
        },
        Route::Account => Reply::ok(org.account.clone()),
        Route::Contacts => {
            let email = first(ctx.params, "email").map(str::trim);
            let selected: Vec<&Value> = org
                .contacts
                .iter()
                .filter(|c| {
                    email.is_none_or(|wanted| {
                        c.get("email")
                            .and_then(Value::as_str)
                            .is_some_and(|e| e.eq_ignore_ascii_case(wanted))
                    })
                })
                .collect();
            ctx.paged_or_invalid(&selected, Value::clone)
        }
        Route::Contact(id) => found(org.contact(id)),
        Route::ContactMakeAgent(_) | Route::Unmatched => Reply::not_found(),
    }
}

/// A member as `/admin/groups/{id}/agents` lists it.
fn group_member(agent: &Value) -> Value {
    let field = |name: &str| agent.get(name).cloned().unwrap_or(Value::Null);
    let contact = |name: &str| {
        agent
            .pointer(&format!("/contact/{name}"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    serde_json::json!({
        "id": id_of(agent),
        "contact": {"name": contact("name"), "email": contact("email")},
        "role_ids": field("role_ids"),
        "ticket_scope": field("ticket_scope"),
        "write_access": true,
        "type": field("type"),
        "occasional": field("occasional"),
    })
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn paths_parse_to_routes_and_templates() {
        let table = [
            ("/api/v2/agents", Route::Agents, "/api/v2/agents"),
            ("/api/v2/agents/me", Route::AgentMe, "/api/v2/agents/me"),
            (
                "/api/v2/agents/5000000001",
                Route::Agent(5_000_000_001),
                "/api/v2/agents/{id}",
            ),
            ("/api/v2/agents/abc", Route::Agent(0), "/api/v2/agents/{id}"),
            (
                "/api/v2/admin/groups/7/agents",
                Route::AdminGroupAgents(7),
                "/api/v2/admin/groups/{id}/agents",
            ),
            ("/api/v2/contacts/3", Route::Contact(3), "/api/v2/contacts/{id}"),
            (
                "/api/v2/contacts/3/make_agent",
                Route::ContactMakeAgent(3),
                "/api/v2/contacts/{id}/make_agent",
            ),
            ("/api/v2/tickets", Route::Unmatched, "(unmatched)"),
            ("/agents", Route::Unmatched, "(unmatched)"),
        ];
        for (path, route, template) in table {
            assert_eq!(Route::parse(path), route, "{path}");
            assert_eq!(route.template(), template);
        }
    }
}
