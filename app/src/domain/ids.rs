//! Ids of the portal's records, one type each, so a topic's id cannot be passed where a
//! request's is wanted. Each is a UUID on the wire (serde) and in Postgres (`uuid` columns,
//! `sqlx(transparent)`); in compile-time checked queries a column is read as `"id: RequestId"`
//! and an id bound as `id as RequestId`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! record_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(Uuid);

        impl $name {
            /// A new, random id (on the server, which creates records).
            #[cfg(feature = "ssr")]
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

record_id!(
    /// An access request of any kind (`access_request.id`).
    RequestId
);
record_id!(
    /// A topic in the catalog (`topic.id`).
    TopicId
);
record_id!(
    /// A team's application, the holder of grants and Kafka principals (`application.id`).
    ApplicationId
);
record_id!(
    /// One grant of access in one environment (`access_grant.id`).
    GrantId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_plain_uuid_on_the_wire_and_in_text() {
        let uuid = Uuid::parse_str("8d3c1f0e-5b7a-4c2e-9f1d-2a6b4c8e0f13").expect("uuid");
        let id = RequestId::from(uuid);
        assert_eq!(
            serde_json::to_string(&id).expect("json"),
            format!("\"{uuid}\"")
        );
        assert_eq!(id.to_string(), uuid.to_string());
        assert_eq!(uuid.to_string().parse::<RequestId>().expect("parse"), id);
        assert!("not-an-id".parse::<TopicId>().is_err());
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn new_ids_differ() {
        assert_ne!(ApplicationId::random(), ApplicationId::random());
    }
}
