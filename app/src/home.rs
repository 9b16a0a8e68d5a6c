//! What waits for a signed-in person, for their home page: decisions they can make, their
//! teams' open requests and whom each waits for, their teams' topics that are not OK, unread
//! notices, and for someone new, where to start.

use crate::domain::{RequestId, RequestState};
use crate::error::AppError;
use crate::health::SubjectRow;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How many of each list home shows; the full lists are a link away.
pub const SHOWN: usize = 5;

/// One request on the home page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeItem {
    pub id: RequestId,
    /// What it asks for ("Producer access to orders_placed for Notify Service").
    pub title: String,
    pub state: RequestState,
    /// The approvals it still waits for ("Governance", "Owning team (claims-status)").
    pub waiting_on: Vec<String>,
    /// How long it has been in its state, in words ("3 hours").
    pub since: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HomeSummary {
    /// Requests the person can decide, oldest first, and how many there are in all.
    pub to_decide: Vec<HomeItem>,
    pub to_decide_total: crate::requests::QueueCount,
    /// Their own and their teams' requests that are not finished yet, newest first.
    pub open: Vec<HomeItem>,
    /// Their teams' topics that are not OK, worst first.
    pub attention: Vec<SubjectRow>,
    pub unread: i64,
    /// No requests, no teams' topics: the page shows how to start.
    pub new_here: bool,
    /// A member of a team, who can ask for access (otherwise: who to ask to become one).
    pub can_request: bool,
}

/// What waits for the caller. Any signed-in role; each part holds only what they may see.
#[server(prefix = "/api", endpoint = "home/waiting")]
pub async fn what_waits() -> Result<HomeSummary, AppError> {
    use crate::domain::Role;
    use crate::requests::store;
    let user = crate::auth::ssr::require_any_role(&Role::ALL).await?;
    let db = crate::context::db()?;
    let decides = user.has_any_role(&[Role::Approver, Role::TeamApprover]);
    let (queue, to_decide_total) = if decides {
        let first = crate::requests::QueueCursor::First;
        let queue = store::queue(&db, &user, &first, SHOWN as i64)
            .await
            .map_err(|e| AppError::internal("listing the approvals queue failed", &e))?
            .requests
            .0;
        let total = store::queue_count(&db, &user)
            .await
            .map_err(|e| AppError::internal("counting the approvals queue failed", &e))?;
        (queue, total)
    } else {
        (Vec::new(), crate::requests::QueueCount::from_counted(0))
    };
    let mine = if user.has_any_role(&[Role::Member, Role::Admin]) {
        store::mine(&db, &user)
            .await
            .map_err(|e| AppError::internal("listing requests failed", &e))?
    } else {
        Vec::new()
    };
    let had_requests = !mine.is_empty();
    let open: Vec<_> = mine
        .into_iter()
        .filter(|r| RequestState::UNFINISHED.contains(&r.state))
        .take(SHOWN)
        .collect();
    let ids: Vec<RequestId> = queue
        .iter()
        .take(SHOWN)
        .chain(&open)
        .map(|r| r.id)
        .collect();
    let waiting = ssr::waiting_on(&db, &ids)
        .await
        .map_err(|e| AppError::internal("reading open approvals failed", &e))?;
    let item = |r: crate::requests::RequestSummary| HomeItem {
        id: r.id,
        title: r.kind.title(&r.topic, &r.application),
        state: r.state,
        waiting_on: waiting
            .iter()
            .filter(|(id, _)| *id == r.id)
            .map(|(_, label)| label.clone())
            .collect(),
        since: crate::health::eval::duration_words(
            (chrono::Utc::now() - r.updated_at).num_seconds(),
        ),
    };
    let topics = if user.has_role(Role::Member) {
        crate::health::my_topics_health().await?
    } else {
        Vec::new()
    };
    let has_topics = !topics.is_empty();
    let mut attention: Vec<SubjectRow> = topics
        .into_iter()
        .filter(|t| t.status != crate::health::Status::Ok)
        .collect();
    // Critical first.
    attention.sort_by_key(|t| t.status != crate::health::Status::Critical);
    attention.truncate(SHOWN);
    Ok(HomeSummary {
        to_decide: queue.into_iter().take(SHOWN).map(item).collect(),
        to_decide_total,
        open: open.into_iter().map(item).collect(),
        attention,
        unread: crate::notifications::unread_notifications().await?,
        new_here: !had_requests && !has_topics && !decides && !user.has_role(Role::Admin),
        can_request: user.has_role(Role::Member),
    })
}

#[cfg(feature = "ssr")]
mod ssr {
    use crate::domain::{RequestId, SlotKind};
    use sqlx::PgPool;

    /// The approvals each request still waits for, in words.
    pub async fn waiting_on(
        db: &PgPool,
        ids: &[RequestId],
    ) -> Result<Vec<(RequestId, String)>, sqlx::Error> {
        let rows = sqlx::query!(
            r#"select request_id as "request_id: RequestId", slot as "slot: SlotKind", team_slug
                 from approval_slot s join access_request r on r.id = s.request_id
                where s.request_id = any($1) and s.decided_by is null and r.state = 'submitted'
                order by s.request_id, s.slot"#,
            ids as &[RequestId]
        )
        .fetch_all(db)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let label = match r.team_slug {
                    Some(team) => format!("{} ({team})", r.slot.label()),
                    None => r.slot.label().to_owned(),
                };
                (r.request_id, label)
            })
            .collect())
    }
}
