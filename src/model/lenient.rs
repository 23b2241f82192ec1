//! JSON values as the model reads them: only the keys it looks at, strings
//! borrowed from the snapshot's text, and any type accepted.
//!
//! Each type deserialises from any JSON value and checks it exactly as
//! parsing it into a [`Value`] would (escapes, surrogates, number ranges), so
//! reading an object through these types accepts and rejects the same texts as
//! reading it into a `Value` first, without building the tree. Each also
//! converts from a `Value`, so both routes meet in the same rules.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// One value of a key the model reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) enum Json<'a> {
    /// The key is not in the object.
    #[default]
    Absent,
    Null,
    Bool(bool),
    /// A number that is a non-negative integer within `u64`.
    U64(u64),
    /// Borrowed from the text unless it had escapes.
    Str(Cow<'a, str>),
    /// Any other number, a list or an object: rare, kept whole for messages.
    Other(Box<Value>),
}

impl<'a> Json<'a> {
    pub(crate) fn from_value(value: &'a Value) -> Json<'a> {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => n
                .as_u64()
                .map_or_else(|| Json::Other(Box::new(value.clone())), Json::U64),
            Value::String(s) => Json::Str(Cow::Borrowed(s)),
            Value::Array(_) | Value::Object(_) => Json::Other(Box::new(value.clone())),
        }
    }

    fn from_owned(value: Value) -> Json<'a> {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => match n.as_u64() {
                Some(n) => Json::U64(n),
                None => Json::Other(Box::new(Value::Number(n))),
            },
            Value::String(s) => Json::Str(Cow::Owned(s)),
            other => Json::Other(Box::new(other)),
        }
    }

    fn into_owned(self) -> Json<'static> {
        match self {
            Json::Absent => Json::Absent,
            Json::Null => Json::Null,
            Json::Bool(b) => Json::Bool(b),
            Json::U64(n) => Json::U64(n),
            Json::Str(s) => Json::Str(Cow::Owned(s.into_owned())),
            Json::Other(v) => Json::Other(v),
        }
    }

    /// The value where the key is present and not `null`.
    pub(crate) fn given(&self) -> Option<&Json<'a>> {
        match self {
            Json::Absent | Json::Null => None,
            value => Some(value),
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    /// As [`as_u64`].
    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Json::U64(n) => Some(*n),
            Json::Str(s) => id_text(s),
            _ => None,
        }
    }
}

/// Ids arrive as numbers, or as strings from some tools' re-exports.
pub(crate) fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => id_text(s),
        _ => None,
    }
}

fn id_text(s: &str) -> Option<u64> {
    s.trim().parse().ok()
}

/// The value's compact JSON text, as a [`Value`] displays it.
impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Never shown: the rules only describe values that are present.
            Json::Absent => Ok(()),
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::U64(n) => write!(f, "{n}"),
            Json::Str(s) => write!(f, "{}", Value::String(s.to_string())),
            Json::Other(v) => write!(f, "{v}"),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json<'a>, D::Error> {
        struct JsonVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for JsonVisitor<'a> {
            type Value = Json<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any valid JSON value")
            }

            fn visit_unit<E>(self) -> Result<Json<'a>, E> {
                Ok(Json::Null)
            }

            fn visit_none<E>(self) -> Result<Json<'a>, E> {
                Ok(Json::Null)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'a>, D::Error> {
                Json::deserialize(d)
            }

            fn visit_bool<E>(self, b: bool) -> Result<Json<'a>, E> {
                Ok(Json::Bool(b))
            }

            fn visit_u64<E>(self, n: u64) -> Result<Json<'a>, E> {
                Ok(Json::U64(n))
            }

            fn visit_i64<E>(self, n: i64) -> Result<Json<'a>, E> {
                Ok(Json::from_owned(Value::from(n)))
            }

            fn visit_f64<E>(self, n: f64) -> Result<Json<'a>, E> {
                Ok(Json::from_owned(Value::from(n)))
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'a>, E> {
                Ok(Json::Str(Cow::Borrowed(s)))
            }

            fn visit_str<E>(self, s: &str) -> Result<Json<'a>, E> {
                Ok(Json::Str(Cow::Owned(s.to_owned())))
            }

            fn visit_string<E>(self, s: String) -> Result<Json<'a>, E> {
                Ok(Json::Str(Cow::Owned(s)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Json<'a>, A::Error> {
                Value::deserialize(SeqAccessDeserializer::new(seq)).map(Json::from_owned)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Json<'a>, A::Error> {
                Value::deserialize(MapAccessDeserializer::new(map)).map(Json::from_owned)
            }
        }

        deserializer.deserialize_any(JsonVisitor(PhantomData))
    }
}

/// A list of ids (`role_ids`, `group_ids`, ...), as far as the rules need it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) enum Ids<'a> {
    /// The key is not in the object.
    #[default]
    Absent,
    Null,
    List(Vec<u64>),
    /// A list whose first item that is not an id is this one.
    Bad(Json<'a>),
    /// Present, and neither a list nor `null`.
    NotList,
}

impl<'a> Ids<'a> {
    pub(crate) fn from_value(value: &'a Value) -> Ids<'a> {
        match value {
            Value::Null => Ids::Null,
            Value::Array(items) => {
                let mut ids = Vec::with_capacity(items.len());
                for item in items {
                    let item = Json::from_value(item);
                    match item.as_u64() {
                        Some(id) => ids.push(id),
                        None => return Ids::Bad(item),
                    }
                }
                Ids::List(ids)
            }
            _ => Ids::NotList,
        }
    }

    fn from_owned(value: Value) -> Ids<'a> {
        match Ids::from_value(&value) {
            Ids::Absent => Ids::Absent,
            Ids::Null => Ids::Null,
            Ids::List(ids) => Ids::List(ids),
            Ids::Bad(item) => Ids::Bad(item.into_owned()),
            Ids::NotList => Ids::NotList,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Ids<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Ids<'a>, D::Error> {
        struct IdsVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for IdsVisitor<'a> {
            type Value = Ids<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any valid JSON value")
            }

            fn visit_unit<E>(self) -> Result<Ids<'a>, E> {
                Ok(Ids::Null)
            }

            fn visit_none<E>(self) -> Result<Ids<'a>, E> {
                Ok(Ids::Null)
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Ids<'a>, D::Error> {
                Ids::deserialize(d)
            }

            fn visit_bool<E>(self, _: bool) -> Result<Ids<'a>, E> {
                Ok(Ids::NotList)
            }

            fn visit_u64<E>(self, _: u64) -> Result<Ids<'a>, E> {
                Ok(Ids::NotList)
            }

            fn visit_i64<E>(self, _: i64) -> Result<Ids<'a>, E> {
                Ok(Ids::NotList)
            }

            fn visit_f64<E>(self, _: f64) -> Result<Ids<'a>, E> {
                Ok(Ids::NotList)
            }

            fn visit_str<E>(self, _: &str) -> Result<Ids<'a>, E> {
                Ok(Ids::NotList)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ids<'a>, A::Error> {
                let mut ids = Vec::new();
                while let Some(item) = seq.next_element::<Json<'a>>()? {
                    match item.as_u64() {
                        Some(id) => ids.push(id),
                        None => {
                            // The rest is still checked as a `Value` would be.
                            while seq.next_element::<Json<'a>>()?.is_some() {}
                            return Ok(Ids::Bad(item));
                        }
                    }
                }
                ids.shrink_to_fit();
                Ok(Ids::List(ids))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Ids<'a>, A::Error> {
                Value::deserialize(MapAccessDeserializer::new(map)).map(Ids::from_owned)
            }
        }

        deserializer.deserialize_any(IdsVisitor(PhantomData))
    }
}

/// The keys of an agent's `contact` the model reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ContactFields<'a> {
    pub(crate) email: Json<'a>,
    pub(crate) name: Json<'a>,
    pub(crate) active: Json<'a>,
    pub(crate) last_login_at: Json<'a>,
}

/// `contact` where it is an object; `None` where it is absent or anything else.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Contact<'a>(pub(crate) Option<ContactFields<'a>>);

impl<'a> Contact<'a> {
    pub(crate) fn from_value(value: &'a Value) -> Contact<'a> {
        let Value::Object(map) = value else {
            return Contact(None);
        };
        let get = |key: &str| map.get(key).map_or(Json::Absent, Json::from_value);
        Contact(Some(ContactFields {
            email: get("email"),
            name: get("name"),
            active: get("active"),
            last_login_at: get("last_login_at"),
        }))
    }

    fn from_owned(value: Value) -> Contact<'a> {
        let Contact(fields) = Contact::from_value(&value);
        Contact(fields.map(|c| ContactFields {
            email: c.email.into_owned(),
            name: c.name.into_owned(),
            active: c.active.into_owned(),
            last_login_at: c.last_login_at.into_owned(),
        }))
    }
}

/// The key serde_json's `Value` reads as an embedded raw value when it comes
/// first in an object (`serde_json::value::RawValue`'s private token).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

enum ContactKey {
    Email,
    Name,
    Active,
    LastLoginAt,
    RawValueToken,
    Other,
}

impl<'de> Deserialize<'de> for ContactKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ContactKey, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = ContactKey;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }

            fn visit_str<E>(self, key: &str) -> Result<ContactKey, E> {
                Ok(match key {
                    "email" => ContactKey::Email,
                    "name" => ContactKey::Name,
                    "active" => ContactKey::Active,
                    "last_login_at" => ContactKey::LastLoginAt,
                    RAW_VALUE_TOKEN => ContactKey::RawValueToken,
                    _ => ContactKey::Other,
                })
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// What `Value` does with a leading [`RAW_VALUE_TOKEN`] key: the string
/// value is JSON text, parsed in the object's place.
struct EmbeddedRaw;

impl<'de> DeserializeSeed<'de> for EmbeddedRaw {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for EmbeddedRaw {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("raw value")
    }

    fn visit_str<E>(self, s: &str) -> Result<String, E> {
        Ok(s.to_owned())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Contact<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Contact<'a>, D::Error> {
        struct ContactVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for ContactVisitor<'a> {
            type Value = Contact<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any valid JSON value")
            }

            fn visit_unit<E>(self) -> Result<Contact<'a>, E> {
                Ok(Contact(None))
            }

            fn visit_none<E>(self) -> Result<Contact<'a>, E> {
                Ok(Contact(None))
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Contact<'a>, D::Error> {
                Contact::deserialize(d)
            }

            fn visit_bool<E>(self, _: bool) -> Result<Contact<'a>, E> {
                Ok(Contact(None))
            }

            fn visit_u64<E>(self, _: u64) -> Result<Contact<'a>, E> {
                Ok(Contact(None))
            }

            fn visit_i64<E>(self, _: i64) -> Result<Contact<'a>, E> {
                Ok(Contact(None))
            }

            fn visit_f64<E>(self, _: f64) -> Result<Contact<'a>, E> {
                Ok(Contact(None))
            }

            fn visit_str<E>(self, _: &str) -> Result<Contact<'a>, E> {
                Ok(Contact(None))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Contact<'a>, A::Error> {
                while seq.next_element::<Json<'a>>()?.is_some() {}
                Ok(Contact(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Contact<'a>, A::Error> {
                let mut fields = ContactFields::default();
                let mut first = true;
                // A repeated key keeps its last value, as in a `Value`.
                while let Some(key) = map.next_key::<ContactKey>()? {
                    let slot = match key {
                        ContactKey::Email => &mut fields.email,
                        ContactKey::Name => &mut fields.name,
                        ContactKey::Active => &mut fields.active,
                        ContactKey::LastLoginAt => &mut fields.last_login_at,
                        ContactKey::RawValueToken if first => {
                            let text = map.next_value_seed(EmbeddedRaw)?;
                            let value = serde_json::from_str(&text).map_err(de::Error::custom)?;
                            return Ok(Contact::from_owned(value));
                        }
                        ContactKey::RawValueToken | ContactKey::Other => {
                            map.next_value::<Json<'a>>()?;
                            first = false;
                            continue;
                        }
                    };
                    *slot = map.next_value()?;
                    first = false;
                }
                Ok(Contact(Some(fields)))
            }
        }

        deserializer.deserialize_any(ContactVisitor(PhantomData))
    }
}
