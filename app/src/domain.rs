//! Domain values with rules. Each is parsed once at the edge and trusted afterwards.

mod area;
mod identity;

pub use area::Area;
pub use identity::{GroupName, Role, RoleMapping, TeamSlug, UserIdentity};
