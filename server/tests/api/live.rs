//! Open request pages follow their request live: the request's event stream announces each
//! decision and each apply step, whoever made it, and only to people who may see the request.

use crate::fixtures::{
    self, AccessForm, LOW_TOPIC, PAYMENTS_APP_NAME, decide, governance, other_team_approver,
    owner_approver, requester, submit,
};
use crate::helpers::{TestApp, user};
use app::domain::Role;
use sqlx::PgPool;
use std::time::Duration;

/// An open event stream, read as it arrives.
struct Stream {
    response: reqwest::Response,
    seen: String,
}

impl Stream {
    async fn open(app: &TestApp, id: impl std::fmt::Display, cookie: &str) -> Self {
        let response = app.get_as(&format!("/events/requests/{id}"), cookie).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().expect("ascii"),
            "text/event-stream"
        );
        Self {
            response,
            seen: String::new(),
        }
    }

    /// Waits for the next `changed` event and returns the id it names.
    async fn next_change(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(at) = self.seen.find("event: changed\n") {
                let rest = &self.seen[at..];
                if let Some(end) = rest.find("\n\n") {
                    let event = rest[..end].to_owned();
                    self.seen = rest[end + 2..].to_owned();
                    return event
                        .lines()
                        .find_map(|l| l.strip_prefix("data: "))
                        .expect("the event names the request")
                        .to_owned();
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .expect("a change is announced within 15 s")
                .expect("the stream stays open")
                .expect("the stream is not ended");
            self.seen
                .push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn the_requester_hears_of_each_decision_without_asking(pool: PgPool) {
    fixtures::seed(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let rita = app.session_cookie_for(&requester()).await;
    let otto = app.session_cookie_for(&owner_approver()).await;
    let gary = app.session_cookie_for(&governance(1)).await;
    let id = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;

    let mut requester_page = Stream::open(&app, id, &rita).await;
    let mut approver_page = Stream::open(&app, id, &gary).await;

    // The owner's decision reaches every open page of the request (which ones are told about
    // which request is checked in `server::events`' unit tests).
    decide(&app, &otto, id, 1, "approve", "")
        .await
        .expect_status(200);
    assert_eq!(requester_page.next_change().await, id.to_string());
    assert_eq!(approver_page.next_change().await, id.to_string());

    // Governance's approval completes it: the requester hears of it at once.
    decide(&app, &gary, id, 2, "approve", "")
        .await
        .expect_status(200);
    assert_eq!(requester_page.next_change().await, id.to_string());
    let state: String = sqlx::query_scalar("select state::text from access_request where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("state");
    assert_ne!(state, "submitted", "the announced change is the approval");

    // The notices say what was decided, not just that something was.
    let told: Vec<String> =
        sqlx::query_scalar("select message from notification where recipient = 'rita' order by id")
            .fetch_all(&pool)
            .await
            .expect("notices");
    let what =
        format!("Consumer access to {LOW_TOPIC} for {PAYMENTS_APP_NAME} in sandbox and prod");
    assert_eq!(
        told,
        vec![
            format!(
                "{what} was approved by the owning team and waits for the remaining approvals."
            ),
            format!("{what} was approved."),
        ]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn only_people_who_may_see_a_request_can_follow_it(pool: PgPool) {
    fixtures::seed(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let rita = app.session_cookie_for(&requester()).await;
    let id = submit(&app, &rita, &AccessForm::consumer(LOW_TOPIC)).await;
    let path = format!("/events/requests/{id}");

    assert_eq!(app.get(&path).await.status(), 401, "anonymous");
    let sam = app.session_cookie_for(&other_team_approver()).await;
    assert_eq!(
        app.get_as(&path, &sam).await.status(),
        404,
        "another team's approver sees neither the request nor its stream"
    );
    let viewer = app
        .session_cookie_for(&user("vera", &[Role::Viewer], &[]))
        .await;
    assert_eq!(app.get_as(&path, &viewer).await.status(), 404, "a viewer");
    for unknown in [
        "/events/requests/not-an-id",
        "/events/requests/00000000-0000-0000-0000-000000000000",
    ] {
        assert_eq!(app.get_as(unknown, &rita).await.status(), 404, "{unknown}");
    }
}
