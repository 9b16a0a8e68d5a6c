//! One module per page.

mod areas;
mod catalog;
mod home;
mod notifications;
mod requests;
mod status;

pub use areas::{AdminPage, HealthPage};
pub use catalog::{CatalogPage, TopicPage};
pub use home::HomePage;
pub use notifications::NotificationsPage;
pub use requests::{ApprovalsPage, MyRequestsPage, NewRequestPage, NewTopicPage, RequestPage};
pub use status::NotFound;
