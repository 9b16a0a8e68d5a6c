//! One module per page.

mod applications;
mod apply;
mod areas;
mod catalog;
mod drift;
mod form_check;
mod health;
mod home;
mod live;
mod notifications;
mod pager;
mod requests;
mod schemas;
mod status;
mod teams;
mod topic_picker;

pub use applications::{ApplicationPage, NewApplicationPage};
pub use areas::AdminPage;
pub use catalog::{CatalogPage, TopicPage};
pub use drift::DriftPage;
pub use health::{GroupHealthPage, HealthPage, MyTopicsHealthPage, TopicHealthPage};
pub use home::HomePage;
pub use notifications::NotificationsPage;
pub use requests::{
    ApprovalsPage, MyRequestsPage, NewRequestPage, NewTopicPage, RequestPage, TopicChangePage,
};
pub use schemas::SchemaChangePage;
pub use status::NotFound;
pub use teams::TeamsPage;
#[cfg(feature = "ssr")]
pub(crate) use {
    apply::draw_connect_section,
    catalog::draw_catalog_page,
    health::subject_rows_markup,
    requests::{draw_request, queue_rows},
};
