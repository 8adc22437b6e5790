//! The tamper-evident audit chain (G-AUDIT): every event is one entry; each entry's hash covers
//! the previous entry's hash and the entry itself in a canonical form, so a changed, deleted or
//! reordered entry breaks every hash after it. The algorithm is named in each entry, so SM3 can
//! be added for the national cryptography assessment without rewriting history.
//!
//! There is one chain per city (its code names the chain) and one shared chain for entries of no
//! city, so writes of different cities never wait for each other. The shared chain is named by
//! the empty string and holds every entry written before chains were split; an entry's chain is
//! hashed only when it is not the shared one, so those entries keep their hashes.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The algorithm new entries use.
pub const ALG: &str = "sha256";

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain of entries that belong to no city (and of all entries written before the split).
pub const SHARED_CHAIN: &str = "";

/// G-AUDIT: the chain an entry belongs to — its city's, or the shared one when it has no city.
pub fn chain_of(city: Option<&str>) -> &str {
    city.filter(|c| !c.is_empty()).unwrap_or(SHARED_CHAIN)
}

/// A chain's name in logs and command output: the city's code, or `(shared)`.
pub fn chain_label(chain: &str) -> &str {
    if chain.is_empty() { "(shared)" } else { chain }
}

fn is_shared(chain: &&str) -> bool {
    chain.is_empty()
}

/// What an entry's hash covers.
#[derive(Debug, Clone, Serialize)]
pub struct Entry<'a> {
    /// The chain (a city's code); not serialised for the shared chain, whose entries predate it.
    #[serde(skip_serializing_if = "is_shared")]
    pub chain: &'a str,
    /// The position within the chain, from 1.
    pub seq: i64,
    pub application_id: i64,
    pub app_seq: i64,
    pub kind: &'a str,
    /// The event's JSON.
    pub payload: &'a Value,
    pub from_state: &'a str,
    pub to_state: &'a str,
    pub actor_user_id: i64,
    pub actor_role: &'a str,
    pub occurred_at: &'a str,
}

/// The canonical text of an entry: JSON with object keys sorted and no insignificant space.
pub fn canonical(entry: &Entry<'_>, prev: &str, alg: &str) -> String {
    let mut v = serde_json::to_value(entry).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("prev".into(), Value::String(prev.to_owned()));
        m.insert("alg".into(), Value::String(alg.to_owned()));
    }
    crate::draw::canonical_value_json(&v)
}

/// The hash of an entry chained to `prev`, with the named algorithm; `None` for an unknown one.
pub fn hash(entry: &Entry<'_>, prev: &str, alg: &str) -> Option<String> {
    match alg {
        ALG => Some(hex::encode(Sha256::digest(canonical(entry, prev, alg).as_bytes()))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_audit_hash_covers_prev_and_content() {
        let payload = serde_json::json!({ "type": "accepted", "b": 1, "a": [ { "z": 1, "y": 2 } ] });
        let e = Entry {
            chain: SHARED_CHAIN,
            seq: 1,
            application_id: 7,
            app_seq: 3,
            kind: "accepted",
            payload: &payload,
            from_state: "submitted",
            to_state: "accepted",
            actor_user_id: 2,
            actor_role: "agency",
            occurred_at: "2026-03-02T02:00:00Z",
        };
        let h = hash(&e, GENESIS, ALG).unwrap();
        assert_eq!(h.len(), 64);
        assert_ne!(h, hash(&e, &h, ALG).unwrap(), "the previous hash is covered");
        let changed = Entry { actor_user_id: 3, ..e.clone() };
        assert_ne!(h, hash(&changed, GENESIS, ALG).unwrap(), "the content is covered");
        assert!(canonical(&e, GENESIS, ALG).contains(r#""a":[{"y":2,"z":1}],"b":1"#), "keys sorted at every level");
        assert_eq!(hash(&e, GENESIS, "sm3"), None);
        assert!(!canonical(&e, GENESIS, ALG).contains("chain"), "shared-chain entries hash as before the split");
        let harbin = Entry { chain: "harbin", ..e.clone() };
        assert_ne!(h, hash(&harbin, GENESIS, ALG).unwrap(), "a city's chain is covered: an entry cannot move between chains");
    }

    #[test]
    fn g_audit_chain_is_the_city_or_shared() {
        assert_eq!(chain_of(Some("harbin")), "harbin");
        assert_eq!(chain_of(Some("")), SHARED_CHAIN);
        assert_eq!(chain_of(None), SHARED_CHAIN);
    }
}
