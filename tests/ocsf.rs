//! The OCSF objects deskaudit writes (`watch --events-format ocsf`, `audit
//! --ocsf`) checked against the OCSF 1.1.0 class definitions vendored in
//! fixtures/ocsf/1.1.0 (see its README): every required attribute of the
//! class (through `extends` and `$include`), the required attributes and
//! `at_least_one` constraints of every object inside, the activity against
//! the class's enum, `type_uid`, and the category.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use deskaudit::sim::Profile;
use deskaudit::watch::{Change, EventKind, FindingView, PollContext, Subject, assemble, ocsf};
use serde_json::{Map, Value, json};

/// An attribute as a class or object defines it, after inheritance.
#[derive(Clone, Debug, Default)]
struct Attr {
    required: bool,
    enum_keys: Vec<String>,
}

struct Schema {
    dir: PathBuf,
    dictionary: Map<String, Value>,
    categories: Map<String, Value>,
}

impl Schema {
    fn load() -> Schema {
        let dir = repo().join("fixtures/ocsf/1.1.0");
        let read = |rel: &str| read_json(&dir.join(rel));
        let dictionary = read("dictionary.json")["attributes"]
            .as_object()
            .cloned()
            .expect("dictionary attributes");
        let categories = read("categories.json")["attributes"]
            .as_object()
            .cloned()
            .expect("categories");
        assert_eq!(read("version.json")["version"], "1.1.0");
        Schema {
            dir,
            dictionary,
            categories,
        }
    }

    /// The class file of a `class_uid` deskaudit emits.
    fn class_file(class_uid: u64) -> &'static str {
        match class_uid {
            0 => "events/base_event.json",
            2004 => "events/findings/detection_finding.json",
            3001 => "events/iam/account_change.json",
            3004 => "events/iam/entity_management.json",
            3005 => "events/iam/user_access.json",
            other => panic!("class_uid {other} is not one deskaudit should emit"),
        }
    }

    /// A definition file and its attributes merged with what it extends
    /// and includes (profiles left out: deskaudit declares none).
    fn resolve(&self, rel: &str, folder: &str) -> (Value, BTreeMap<String, Attr>) {
        let doc = read_json(&self.dir.join(rel));
        // Every object extends `object`, the root, which defines nothing.
        let mut attrs = match doc["extends"].as_str().filter(|p| *p != "object") {
            Some(parent) => self.resolve(&self.find(folder, parent), folder).1,
            None => BTreeMap::new(),
        };
        let own = doc["attributes"].as_object().cloned().unwrap_or_default();
        for include in own
            .get("$include")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let include = include.as_str().unwrap_or("");
            if include.starts_with("includes/") {
                merge(&mut attrs, &read_json(&self.dir.join(include))["attributes"]);
            }
        }
        merge(&mut attrs, &Value::Object(own));
        (doc, attrs)
    }

    /// The vendored file defining `name` (`iam`, `finding`, `_entity`, ...).
    fn find(&self, folder: &str, name: &str) -> String {
        let candidates = match folder {
            "objects" => vec![format!("objects/{name}.json")],
            _ => vec![
                format!("events/{name}.json"),
                format!("events/iam/{name}.json"),
                format!("events/findings/{name}.json"),
            ],
        };
        candidates
            .into_iter()
            .find(|rel| self.dir.join(rel).exists())
            .unwrap_or_else(|| panic!("{name}: not vendored in fixtures/ocsf/1.1.0"))
    }

    /// A class's category: its own, or that of the class it extends.
    fn category(&self, class: &Value) -> String {
        match (class["category"].as_str(), class["extends"].as_str()) {
            (Some(category), _) => category.to_owned(),
            (None, Some(parent)) => self.category(&read_json(&self.dir.join(self.find("events", parent)))),
            (None, None) => String::new(),
        }
    }

    /// Every problem with `object` as an event of its class.
    fn check_event(&self, object: &Value) -> Vec<String> {
        let class_uid = object["class_uid"].as_u64().expect("class_uid");
        let (class, attrs) = self.resolve(Schema::class_file(class_uid), "events");
        let mut problems = Vec::new();
        let category = self.category(&class);
        let category_uid = self
            .categories
            .get(category.as_str())
            .and_then(|c| c["uid"].as_u64())
            .unwrap_or(0);
        let uid = class["uid"].as_u64().unwrap_or(0);
        if category_uid * 1000 + uid != class_uid || object["category_uid"] != json!(category_uid) {
            problems.push(format!(
                "class {class_uid} is not category {category_uid} + uid {uid}"
            ));
        }
        let activity = object["activity_id"].as_u64().unwrap_or(u64::MAX);
        let allowed = &attrs.get("activity_id").cloned().unwrap_or_default().enum_keys;
        if !allowed.contains(&activity.to_string()) {
            problems.push(format!("activity_id {activity} is not in {allowed:?}"));
        }
        if object["type_uid"].as_u64() != Some(class_uid * 100 + activity) {
            problems.push(format!(
                "type_uid {} for {class_uid}/{activity}",
                object["type_uid"]
            ));
        }
        self.check_attrs(&class["name"].to_string(), object, &attrs, &mut problems);
        problems
    }

    fn check_attrs(&self, path: &str, object: &Value, attrs: &BTreeMap<String, Attr>, out: &mut Vec<String>) {
        for (name, attr) in attrs {
            if attr.required && object.get(name).is_none_or(Value::is_null) {
                out.push(format!("{path}: required `{name}` missing"));
            }
        }
        let Some(fields) = object.as_object() else {
            out.push(format!("{path}: not an object"));
            return;
        };
        for (name, value) in fields {
            let kind = self
                .dictionary
                .get(name)
                .and_then(|d| d["type"].as_str())
                .unwrap_or("");
            if name == "unmapped" || kind.ends_with("_t") || kind == "object" {
                continue;
            }
            if kind.is_empty() {
                out.push(format!("{path}: `{name}` is no OCSF attribute"));
                continue;
            }
            let elements = match value {
                Value::Array(items) => items.iter().collect(),
                one => vec![one],
            };
            for element in elements {
                self.check_object(&format!("{path}.{name}"), kind, element, out);
            }
        }
    }

    fn check_object(&self, path: &str, kind: &str, value: &Value, out: &mut Vec<String>) {
        let (doc, attrs) = self.resolve(&self.find("objects", kind), "objects");
        self.check_attrs(path, value, &attrs, out);
        let mut constraints = doc["constraints"]["at_least_one"].as_array().cloned();
        if constraints.is_none() {
            // Inherited from what it extends (`_entity`: name or uid).
            if let Some(parent) = doc["extends"].as_str().filter(|p| *p != "object") {
                let parent = read_json(&self.dir.join(self.find("objects", parent)));
                constraints = parent["constraints"]["at_least_one"].as_array().cloned();
            }
        }
        if let Some(any) = constraints
            && !any
                .iter()
                .any(|k| k.as_str().is_some_and(|k| !value[k].is_null()))
        {
            out.push(format!("{path}: needs at least one of {any:?}"));
        }
    }
}

fn merge(attrs: &mut BTreeMap<String, Attr>, defined: &Value) {
    for (name, def) in defined.as_object().into_iter().flatten() {
        if name == "$include" {
            continue;
        }
        let attr = attrs.entry(name.clone()).or_default();
        if let Some(requirement) = def["requirement"].as_str() {
            attr.required = requirement == "required";
        }
        if let Some(keys) = def["enum"].as_object() {
            attr.enum_keys.extend(keys.keys().cloned());
        }
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).expect("json")
}

fn agent(status: &str, roles: &[(u64, &str)], scope: &str) -> Value {
    json!({"id": 7, "status": status, "email": "kim@acme.test", "name": "Kim",
        "roles": roles.iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>(),
        "groups": [], "ticket_scope": scope, "occasional": false, "type": "support_agent"})
}

/// One event of every kind, as watch writes them.
fn every_kind() -> Vec<deskaudit::watch::Event> {
    use EventKind::*;
    let kim = || Subject::Agent {
        id: 7,
        email: Some("kim@acme.test".into()),
    };
    let (active, agent_role) = (agent("active", &[(11, "Agent")], "Group"), (11, "Agent"));
    let admin = agent("active", &[(10, "Administrator")], "Global");
    let finding = FindingView {
        finding_id: "DA-0123456789ab".into(),
        rule: "terminated-active".into(),
        severity: "critical".into(),
        agent_id: 7,
        agent_email: Some("kim@acme.test".into()),
        detail: "deprovisioned in okta".into(),
    };
    let finding_subject = Subject::Finding {
        finding: deskaudit::watch::FindingRef {
            finding_id: finding.finding_id.clone(),
            rule: finding.rule.clone(),
            severity: finding.severity.clone(),
        },
        agent_id: 7,
        agent_email: Some("kim@acme.test".into()),
    };
    let finding = serde_json::to_value(&finding).expect("json");
    let role = || Subject::Role {
        id: 12,
        name: "Auditor".into(),
    };
    let group = || Subject::Group {
        id: 21,
        name: "Tier 2".into(),
    };
    let named = json!({"id": 12, "name": "Auditor"});
    let mut in_tier_2 = active.clone();
    in_tier_2["groups"] = json!([{"id": 21, "name": "Tier 2"}]);
    let change = |kind, subject, before: Option<Value>, after: Option<Value>| Change {
        kind,
        subject,
        before,
        after,
        detail: None,
    };
    let changes = vec![
        change(Baseline, Subject::Poll, None, Some(json!({"agents": {}}))),
        change(
            AgentCreated,
            kim(),
            None,
            Some(agent("pending", &[agent_role], "Group")),
        ),
        change(
            AgentVerified,
            kim(),
            Some(agent("pending", &[agent_role], "Group")),
            Some(active.clone()),
        ),
        change(
            AgentDeactivated,
            kim(),
            Some(active.clone()),
            Some(agent("deactivated", &[agent_role], "Group")),
        ),
        change(
            AgentReactivated,
            kim(),
            Some(agent("deleted", &[agent_role], "Group")),
            Some(active.clone()),
        ),
        change(AgentDeleted, kim(), Some(active.clone()), None),
        change(
            AgentStatusChanged,
            kim(),
            Some(active.clone()),
            Some(agent("pending", &[agent_role], "Group")),
        ),
        change(
            AgentEmailChanged,
            kim(),
            Some(active.clone()),
            Some(active.clone()),
        ),
        change(
            AgentRolesChanged,
            kim(),
            Some(active.clone()),
            Some(admin.clone()),
        ),
        change(AgentGroupsChanged, kim(), Some(active.clone()), Some(in_tier_2)),
        change(
            AgentScopeChanged,
            kim(),
            Some(active.clone()),
            Some(agent("active", &[agent_role], "Global")),
        ),
        change(RoleCreated, role(), None, Some(named.clone())),
        change(RoleDeleted, role(), Some(named), None),
        change(
            GroupCreated,
            group(),
            None,
            Some(json!({"id": 21, "name": "Tier 2"})),
        ),
        change(
            GroupDeleted,
            group(),
            Some(json!({"id": 21, "name": "Tier 2"})),
            None,
        ),
        change(
            FindingOpened,
            finding_subject.clone(),
            None,
            Some(finding.clone()),
        ),
        change(FindingResolved, finding_subject, Some(finding), None),
    ];
    let ctx = PollContext {
        domain: "acme".into(),
        // As `watch --accounts` labels it: metadata.tenant_uid is checked too.
        account: Some("acme".into()),
        poll_id: "p-1".into(),
        observed_at: "2026-06-01T00:15:00Z".parse().expect("ts"),
        previous_at: Some("2026-06-01T00:00:00Z".parse().expect("ts")),
    };
    let mut events = assemble(&ctx, changes, 1);
    let mut failed = events[0].clone();
    failed.kind = PollFailed;
    failed.error = Some("GET /api/v2/agents: gave up after 7 attempts".into());
    events.push(failed);
    events
}

#[test]
fn every_event_kind_is_a_valid_object_of_its_ocsf_class() {
    let schema = Schema::load();
    let mut classes = BTreeMap::new();
    for event in every_kind() {
        let objects = ocsf::from_event(&event);
        assert!(!objects.is_empty(), "{}", event.kind);
        for object in objects {
            let problems = schema.check_event(&object);
            assert_eq!(problems, Vec::<String>::new(), "{}: {object:#}", event.kind);
            *classes
                .entry(object["class_uid"].as_u64().unwrap_or(9))
                .or_insert(0) += 1;
        }
    }
    // The contract's classes: agents 3001, grants 3005, findings 2004.
    for class in [3001, 3005, 2004] {
        assert!(classes.contains_key(&class), "{classes:?}");
    }
}

#[test]
fn the_checker_catches_a_missing_required_attribute() {
    let schema = Schema::load();
    let event = every_kind().remove(1);
    let mut object = ocsf::from_event(&event).remove(0);
    assert_eq!(schema.check_event(&object), Vec::<String>::new());
    let table = [
        ("/user", "required `user` missing"),
        ("/metadata/product/vendor_name", "required `vendor_name` missing"),
        ("/time", "required `time` missing"),
    ];
    for (pointer, says) in table {
        let mut broken = object.clone();
        let (parent, key) = pointer.rsplit_once('/').expect("pointer");
        let holder = if parent.is_empty() {
            Some(&mut broken)
        } else {
            broken.pointer_mut(parent)
        };
        holder.and_then(Value::as_object_mut).map(|o| o.remove(key));
        let problems = schema.check_event(&broken);
        assert!(
            problems.iter().any(|p| p.contains(says)),
            "{pointer}: {problems:?}"
        );
    }
    object["activity_id"] = json!(42);
    assert!(
        schema
            .check_event(&object)
            .iter()
            .any(|p| p.contains("activity_id 42"))
    );
}

#[test]
fn audit_ocsf_writes_one_detection_finding_per_finding() {
    let (_rt, sim) = start_sim(acme(), config(Profile::Documented));
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("snapshot.json");
    let collected = collect(&sim.base_url(), &snapshot, Some(ADMIN_KEY));
    assert_eq!(collected.status.code(), Some(0), "{}", text(&collected));
    let out = dir.path().join("run");
    let mut args = vec![
        "audit",
        "--snapshot",
        snapshot.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--ocsf",
    ];
    args.extend(ACME_INPUTS);
    let run = deskaudit(&args, None);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let csv = std::fs::read_to_string(out.join("findings.csv")).expect("findings.csv");
    let ids: Vec<&str> = csv.lines().skip(1).filter_map(|l| l.split(',').next()).collect();
    let text = std::fs::read_to_string(out.join("findings.ocsf.jsonl")).expect("findings.ocsf.jsonl");
    let objects: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(objects.len(), ids.len());
    let schema = Schema::load();
    for (object, id) in objects.iter().zip(&ids) {
        assert_eq!(object["class_uid"], 2004);
        assert_eq!(object["finding_info"]["uid"], *id, "in findings.csv's order");
        assert_eq!(schema.check_event(object), Vec::<String>::new(), "{object:#}");
    }
    let critical = objects
        .iter()
        .find(|o| o["finding_info"]["types"][0] == "terminated-active");
    assert_eq!(critical.map(|o| o["severity_id"].clone()), Some(json!(5)));
}
