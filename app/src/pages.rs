//! One module per page.

mod areas;
mod home;
mod status;

pub use areas::{AdminPage, ApprovalsPage, CatalogPage, HealthPage, MyRequestsPage};
pub use home::HomePage;
pub use status::NotFound;
