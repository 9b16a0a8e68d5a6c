//! Each kind of request in its own module, behind one interface ([`Kind`]): what its form
//! carries and how it is checked against the catalog, who must approve it (`submit` routes it
//! through the approval policy and records its slots), and what its approval changes and which
//! apply steps it writes (`approved`). The request lifecycle (`decide` and the rest) knows no
//! kind: on the last approval it calls [`approved`], the one place that maps a stored kind to its
//! module, exhaustively.

mod access;
mod new_topic;
mod revoke;
mod schema_change;
mod topic_change;

pub use access::Access;
pub(crate) use access::ensure_group_is_free;
pub use new_topic::NewTopic;
pub use revoke::{Revocation, Revoke};
pub use schema_change::{ChangeSchema, check_proposal};
pub use topic_change::ChangeTopic;

use crate::context::PortalContext;
use crate::domain::RequestId;
use crate::domain::{RequestKind, UserIdentity};
use crate::store::StoreError;
use sqlx::PgConnection;

/// What one kind of request decides for itself.
#[expect(
    async_fn_in_trait,
    reason = "implemented only in this module's children and always called on a concrete type, so each caller sees the futures' real Send-ness"
)]
pub trait Kind {
    /// The checked form, as `submit` records it.
    type Draft;

    /// Checks the draft against the catalog and the caller's teams, routes it to its approvers,
    /// and records it with its approval slots and audit entry in one transaction (sent for
    /// approval at once, unless saved as a draft). Returns the new request's id.
    async fn submit(
        portal: &PortalContext,
        user: &UserIdentity,
        draft: &Self::Draft,
    ) -> Result<RequestId, StoreError>;

    /// In the transaction of the last approval: what the approval changes in the catalog, and
    /// the apply steps that bring the clusters along (or, with nothing to apply, the request
    /// settled at once).
    async fn approved(
        conn: &mut PgConnection,
        portal: &PortalContext,
        id: RequestId,
    ) -> Result<(), StoreError>;
}

/// Hands an approved request to its kind.
pub(crate) async fn approved(
    kind: RequestKind,
    conn: &mut PgConnection,
    portal: &PortalContext,
    id: RequestId,
) -> Result<(), StoreError> {
    match kind {
        RequestKind::ProducerAccess | RequestKind::ConsumerAccess => {
            Access::approved(conn, portal, id).await
        }
        RequestKind::NewTopic => NewTopic::approved(conn, portal, id).await,
        RequestKind::TopicChange => ChangeTopic::approved(conn, portal, id).await,
        RequestKind::SchemaChange => ChangeSchema::approved(conn, portal, id).await,
        RequestKind::RevokeAccess => Revoke::approved(conn, portal, id).await,
    }
}
