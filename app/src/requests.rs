//! Access requests and the decisions on them.

use crate::domain::EnvironmentName;
#[cfg(feature = "ssr")]
use crate::domain::Role;
use crate::domain::{ApplicationId, RequestId};
use crate::domain::{DataClassification, Decision, RequestKind, RequestState, SlotKind};
use crate::error::AppError;
use crate::loaded::{Markup, NotHydrated};
use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use kind::Kind;

pub mod form;
#[cfg(feature = "ssr")]
pub mod kind;
#[cfg(feature = "ssr")]
pub mod lifecycle;
pub mod schema_change;
#[cfg(feature = "ssr")]
pub mod store;
pub mod topic_change;
pub mod topic_form;

pub use form::{AccessRequestDraft, AccessRequestInput};
pub use schema_change::{SchemaChangeInput, SchemaChangeView, SchemaCheck};
pub use topic_change::{TopicChange, TopicChangeInput};
pub use topic_form::{FitAnswer, TopicProposal, TopicProposalInput};

/// An application the caller may request access for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationOption {
    pub id: ApplicationId,
    pub name: String,
    pub team: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSummary {
    pub id: RequestId,
    pub kind: RequestKind,
    pub state: RequestState,
    pub topic: String,
    pub application: String,
    pub requester: String,
    pub environments: Vec<EnvironmentName>,
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// Where a page of the approvals queue starts or ends: a request's last change and its id, the
/// queue's order. Written in links as `<RFC 3339 time, microseconds>_<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QueueKey {
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
    pub id: RequestId,
}

impl std::fmt::Display for QueueKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = self
            .updated_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        write!(f, "{at}_{}", self.id)
    }
}

impl std::str::FromStr for QueueKey {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const MESSAGE: &str =
            "a page of the queue starts after a request, written as its time and id";
        let (at, id) = text.split_once('_').ok_or(MESSAGE)?;
        Ok(Self {
            updated_at: DateTime::parse_from_rfc3339(at)
                .map_err(|_| MESSAGE)?
                .with_timezone(&Utc),
            id: id.parse().map_err(|_| MESSAGE)?,
        })
    }
}

/// Which page of the approvals queue.
pub type QueueCursor = crate::paging::Cursor<QueueKey>;

/// The page of the queue a link names by `after` or `before` (at most one of them).
pub fn queue_cursor(after: Option<&str>, before: Option<&str>) -> Result<QueueCursor, AppError> {
    let key = |text: Option<&str>| {
        text.map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.parse::<QueueKey>()
                    .map_err(|m| AppError::invalid("Page", m))
            })
            .transpose()
    };
    QueueCursor::from_link(key(after)?, key(before)?).ok_or_else(|| {
        AppError::invalid(
            "Page",
            "a page starts after a request or ends before one, not both",
        )
    })
}

/// One page of the approvals queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePage {
    pub requests: crate::loaded::NotHydrated<Vec<RequestSummary>>,
    /// How many requests the page shows.
    pub shown: usize,
    /// The requests as the queue's table rows, drawn on the server.
    pub rows: crate::loaded::Markup,
    /// Where the next page starts, when there is one.
    pub next: Option<QueueKey>,
    /// Where the previous page ends, when there is one.
    pub previous: Option<QueueKey>,
}

/// How many requests wait for a decision, counted no further than `CAP` (a long queue is not
/// read to the end for a number in the navigation): beyond it, "100+".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QueueCount(i64);

impl QueueCount {
    pub const CAP: i64 = 100;

    /// A count read with a limit of `CAP + 1`: more than `CAP` means "beyond the cap".
    pub fn from_counted(counted: i64) -> Self {
        Self(counted.min(Self::CAP + 1))
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl std::fmt::Display for QueueCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 > Self::CAP {
            write!(f, "{}+", Self::CAP)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// The compliance facts governance decides on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compliance {
    pub system_registration_id: String,
    pub security_package_id: String,
    pub fisma_rating: String,
    pub ato_status: String,
    #[serde(with = "crate::time::iso_date_option")]
    pub ato_date: Option<NaiveDate>,
    pub privacy_assessment: String,
    pub contains_pii: bool,
    pub hosting_location: String,
    pub technical_contact: String,
    pub product_contact: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotView {
    pub kind: SlotKind,
    pub team: Option<String>,
    /// Why this approval is needed, in words.
    pub reason: String,
    pub decided_by: Option<String>,
    pub decision: Option<Decision>,
    pub decision_reason: Option<String>,
    #[serde(with = "crate::time::rfc3339_option")]
    pub decided_at: Option<DateTime<Utc>>,
    /// While the slot waits: people the portal knows who can fill it (at most
    /// [`SlotView::NAMES_SHOWN`]), how many more there are, and how long it has waited, in words.
    pub can_decide: Vec<String>,
    pub others_can_decide: usize,
    pub waited: Option<String>,
}

impl SlotView {
    pub const NAMES_SHOWN: usize = 5;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestDetail {
    pub summary: RequestSummary,
    pub version: i32,
    pub requester_subject: String,
    pub application_team: String,
    pub topic_owner: Option<String>,
    pub classification: Option<DataClassification>,
    pub topic_contains_pii: bool,
    pub consumer_group: Option<String>,
    pub group_is_prefix: bool,
    pub purpose: String,
    #[serde(with = "crate::time::iso_date_option")]
    pub requested_expiry: Option<NaiveDate>,
    pub decision_reason: Option<String>,
    /// The facts below are drawn on the server into `facts` and `history`, which the page
    /// shows; the browser does not read them.
    pub compliance: NotHydrated<Option<Compliance>>,
    pub slots: NotHydrated<Vec<SlotView>>,
    pub timeline: NotHydrated<Vec<TimelineEntry>>,
    /// The approval the caller can give now, if any.
    pub decidable_slot: Option<SlotKind>,
    pub can_withdraw: bool,
    /// Changes were asked for and the caller is the requester.
    pub can_resubmit: bool,
    /// For a new topic: what is proposed, and the answers to the fit check.
    pub proposal: NotHydrated<Option<TopicProposal>>,
    /// For a topic change: the settings before and after.
    pub topic_change: NotHydrated<Option<TopicChange>>,
    /// For a schema change: the proposal, its check, the diff and the consumers it affects.
    pub schema_change: NotHydrated<Option<SchemaChangeView>>,
    pub fit: NotHydrated<Vec<FitAnswer>>,
    /// The approved request this one repeats for another environment.
    pub promoted_from: Option<RequestId>,
    pub application_id: ApplicationId,
    /// Approved access the caller's team can repeat in another environment.
    pub can_promote: bool,
    /// What the request is, what it proposes and where its approvals stand, drawn on the server.
    pub facts: Markup,
    /// Its timeline, drawn on the server.
    pub history: Markup,
}

/// Applications of the caller's teams.
#[server(prefix = "/api", endpoint = "requests/applications")]
pub async fn my_applications() -> Result<Vec<ApplicationOption>, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member]).await?;
    store::applications_of(&crate::context::db()?, &user)
        .await
        .map_err(|e| AppError::internal("listing applications failed", &e))
}

/// Asks for producer or consumer access to a topic. Sent for approval at once.
#[server(prefix = "/api", endpoint = "requests/access")]
pub async fn request_access(input: AccessRequestInput) -> Result<RequestId, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member]).await?;
    let portal = crate::context::portal()?;
    let environments = portal.environment_names();
    let draft = input
        .parse(&environments, Utc::now().date_naive())
        .map_err(|errors| crate::auth::ssr::with_status(AppError::Invalid(errors)))?;
    let id = kind::Access::submit(&portal, &user, &draft)
        .await
        .map_err(AppError::from)?;
    leptos_axum::redirect(&format!("/requests/{id}"));
    Ok(id)
}

/// Proposes a new topic, with producer access for one of the caller's applications.
#[server(prefix = "/api", endpoint = "requests/topic")]
pub async fn propose_topic(input: TopicProposalInput) -> Result<RequestId, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member]).await?;
    let portal = crate::context::portal()?;
    let environments = portal.environment_names();
    let draft = input
        .parse(&portal.naming, &environments)
        .map_err(|errors| crate::auth::ssr::with_status(AppError::Invalid(errors)))?;
    let id = kind::NewTopic::submit(&portal, &user, &draft)
        .await
        .map_err(AppError::from)?;
    leptos_axum::redirect(&format!("/requests/{id}"));
    Ok(id)
}

/// The owning team proposes new settings for one of its topics.
#[server(prefix = "/api", endpoint = "requests/topic-change")]
pub async fn propose_topic_change(input: TopicChangeInput) -> Result<RequestId, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member]).await?;
    let portal = crate::context::portal()?;
    let draft = input
        .parse()
        .map_err(|errors| crate::auth::ssr::with_status(AppError::Invalid(errors)))?;
    let id = kind::ChangeTopic::submit(&portal, &user, &draft)
        .await
        .map_err(AppError::from)?;
    leptos_axum::redirect(&format!("/requests/{id}"));
    Ok(id)
}

/// Which schema of a new topic is being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NewTopicSchema {
    Key,
    Value,
}

/// Checks a new topic's key or value schema as it is typed, by the rules its proposal is held
/// to on submit: the answer is what the schema is, or the refusal under the field's name.
/// Writes nothing.
#[server(prefix = "/api", endpoint = "requests/topic-schema-check")]
pub async fn check_topic_schema(part: NewTopicSchema, schema: String) -> Result<String, AppError> {
    crate::auth::ssr::require_any_role(&[Role::Member]).await?;
    let (field, parsed) = match part {
        NewTopicSchema::Value => (
            crate::schemas::FIELD_SCHEMA,
            crate::schemas::ssr::parse_avro(&schema),
        ),
        NewTopicSchema::Key => (
            crate::schemas::FIELD_KEY_SCHEMA,
            crate::schemas::ssr::parse_avro_key(&schema),
        ),
    };
    parsed
        .map(|_| format!("{field}: a valid schema; it is registered when the topic is approved."))
        .map_err(|m| crate::auth::ssr::with_status(AppError::invalid(field, m)))
}

/// Checks a schema against its subject while the request is written: why it cannot be read,
/// what breaks under the subject's mode and who must approve. Writes nothing.
#[server(prefix = "/api", endpoint = "requests/schema-check")]
pub async fn check_schema_change(input: SchemaChangeInput) -> Result<SchemaCheck, AppError> {
    crate::auth::ssr::require_any_role(&Role::ALL).await?;
    let portal = crate::context::portal()?;
    let proposal = input
        .proposal()
        .map_err(|errors| crate::auth::ssr::with_status(AppError::Invalid(errors)))?;
    kind::check_proposal(&portal, &proposal)
        .await
        .map_err(AppError::from)
}

/// The owning team proposes a new key or value schema version (and perhaps a new mode).
#[server(prefix = "/api", endpoint = "requests/schema-change")]
pub async fn propose_schema_change(input: SchemaChangeInput) -> Result<RequestId, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member]).await?;
    let portal = crate::context::portal()?;
    let draft = input
        .parse()
        .map_err(|errors| crate::auth::ssr::with_status(AppError::Invalid(errors)))?;
    let id = kind::ChangeSchema::submit(&portal, &user, &draft)
        .await
        .map_err(AppError::from)?;
    leptos_axum::redirect(&format!("/requests/{id}"));
    Ok(id)
}

/// The topic's owning team asks governance to take another team's access away.
#[server(prefix = "/api", endpoint = "requests/revoke")]
pub async fn request_revocation(id: RequestId, reason: String) -> Result<RequestId, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member]).await?;
    let portal = crate::context::portal()?;
    let new = kind::Revoke::submit(&portal, &user, &kind::Revocation { of: id, reason })
        .await
        .map_err(AppError::from)?;
    leptos_axum::redirect(&format!("/requests/{new}"));
    Ok(new)
}

/// Approve, decline or send back a request. `version` is the version the decision was made on.
#[server(prefix = "/api", endpoint = "requests/decide")]
pub async fn decide_request(
    id: RequestId,
    version: i32,
    decision: String,
    #[server(default)] reason: String,
) -> Result<RequestState, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Approver, Role::TeamApprover]).await?;
    let decision = decision
        .parse()
        .map_err(|m: String| crate::auth::ssr::with_status(AppError::invalid("Decision", m)))?;
    let portal = crate::context::portal()?;
    store::decide(&portal, &user, id, version, decision, &reason)
        .await
        .map_err(AppError::from)
}

/// The requester takes their request back.
#[server(prefix = "/api", endpoint = "requests/withdraw")]
pub async fn withdraw_request(id: RequestId, version: i32) -> Result<RequestState, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member]).await?;
    let db = crate::context::db()?;
    store::withdraw(&db, &user, id, version)
        .await
        .map_err(AppError::from)
}

/// After "changes requested": the requester edits and sends the request again.
#[server(prefix = "/api", endpoint = "requests/resubmit")]
pub async fn resubmit_request(
    id: RequestId,
    version: i32,
    purpose: String,
    #[server(default)] consumer_group: Option<String>,
) -> Result<RequestState, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member]).await?;
    let db = crate::context::db()?;
    store::resubmit(&db, &user, id, version, &purpose, consumer_group.as_deref())
        .await
        .map_err(AppError::from)
}

/// One request, if the caller may see it.
#[server(prefix = "/api", endpoint = "requests/get")]
pub async fn get_request(id: RequestId) -> Result<RequestDetail, AppError> {
    let user = crate::auth::ssr::require_any_role(&Role::ALL).await?;
    let portal = crate::context::portal()?;
    let mut detail = store::detail(&portal.db, &portal.roles, &user, id)
        .await
        .map_err(AppError::from)?;
    crate::pages::draw_request(&mut detail);
    Ok(detail)
}

/// Requests made by the caller or for their teams' applications.
#[server(prefix = "/api", endpoint = "requests/mine")]
pub async fn my_requests() -> Result<Vec<RequestSummary>, AppError> {
    let user = crate::auth::ssr::require_any_role(&[Role::Member, Role::Admin]).await?;
    store::mine(&crate::context::db()?, &user)
        .await
        .map_err(|e| AppError::internal("listing requests failed", &e))
}

/// The size of a page of the approvals queue.
pub const QUEUE_PAGE: i64 = 50;

/// A page of the requests waiting for a decision the caller can make, oldest change first:
/// the first, or the one after or before a request named by a link.
#[server(prefix = "/api", endpoint = "requests/queue")]
pub async fn approval_queue(
    after: Option<String>,
    before: Option<String>,
) -> Result<QueuePage, AppError> {
    let user =
        crate::auth::ssr::require_any_role(&[Role::Approver, Role::TeamApprover, Role::Admin])
            .await?;
    let cursor =
        queue_cursor(after.as_deref(), before.as_deref()).map_err(crate::auth::ssr::with_status)?;
    let portal = crate::context::portal()?;
    let asked = QueueAsked {
        approver: user.subject.clone(),
        governance: user.has_role(Role::Approver),
        team_approver: user.has_role(Role::TeamApprover),
        teams: lifecycle::team_names(&user),
        cursor,
    };
    let (page, source) = portal
        .listings
        .queue
        .page(&asked, async || {
            let mut page = store::queue(&portal.db, &user, &asked.cursor, QUEUE_PAGE).await?;
            page.rows = crate::pages::queue_rows(&page.requests);
            Ok::<_, sqlx::Error>(page)
        })
        .await
        .map_err(|e| AppError::internal("listing the approval queue failed", &e))?;
    metrics::counter!("listing_pages_total", "listing" => "queue", "source" => source.as_str())
        .increment(1);
    Ok(page)
}

/// What a page of the approvals queue depends on: who asks, with which approving roles and
/// teams, and which page.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueAsked {
    approver: String,
    governance: bool,
    team_approver: bool,
    teams: Vec<String>,
    cursor: QueueCursor,
}

/// Pages of the approvals queue as last read, by who asked and which page.
#[cfg(feature = "ssr")]
pub type QueueCache = crate::page_cache::PageCache<QueueAsked, QueuePage>;

/// How many requests wait for the caller (the count in the navigation), up to
/// `QueueCount::CAP`. Zero for other roles.
#[server(prefix = "/api", endpoint = "requests/pending-count")]
pub async fn pending_approval_count() -> Result<QueueCount, AppError> {
    let user = crate::auth::ssr::require_any_role(&Role::ALL).await?;
    if !user.has_any_role(&[Role::Approver, Role::TeamApprover]) {
        return Ok(QueueCount::from_counted(0));
    }
    store::queue_count(&crate::context::db()?, &user)
        .await
        .map_err(|e| AppError::internal("counting the approval queue failed", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_key_reads_back_what_a_link_wrote() {
        let key = QueueKey {
            updated_at: DateTime::parse_from_rfc3339("2026-12-04T09:30:01.123456Z")
                .map(|t| t.with_timezone(&Utc))
                .expect("time"),
            id: RequestId::from(uuid::Uuid::from_u128(7)),
        };
        let written = key.to_string();
        assert_eq!(
            written,
            "2026-12-04T09:30:01.123456Z_00000000-0000-0000-0000-000000000007"
        );
        assert_eq!(written.parse::<QueueKey>(), Ok(key));
        assert!("2026-12-04T09:30:01Z".parse::<QueueKey>().is_err());
        assert!(
            "yesterday_00000000-0000-0000-0000-000000000007"
                .parse::<QueueKey>()
                .is_err()
        );
    }

    #[test]
    fn a_page_of_the_queue_is_named_by_one_boundary_at_most() {
        assert_eq!(queue_cursor(None, Some(" ")), Ok(QueueCursor::First));
        let key = "2026-12-04T09:30:01.000000Z_00000000-0000-0000-0000-000000000007";
        assert!(matches!(
            queue_cursor(Some(key), None),
            Ok(QueueCursor::After(_))
        ));
        assert!(matches!(
            queue_cursor(None, Some(key)),
            Ok(QueueCursor::Before(_))
        ));
        assert!(queue_cursor(Some(key), Some(key)).is_err());
    }

    #[test]
    fn the_queue_count_stops_at_its_cap() {
        assert_eq!(QueueCount::from_counted(0).to_string(), "0");
        assert_eq!(QueueCount::from_counted(100).to_string(), "100");
        assert_eq!(QueueCount::from_counted(101).to_string(), "100+");
        assert_eq!(QueueCount::from_counted(5_000).to_string(), "100+");
        assert!(QueueCount::from_counted(0).is_zero());
    }
}
