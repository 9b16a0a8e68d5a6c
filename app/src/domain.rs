//! Domain values with rules. Each is parsed once at the edge and trusted afterwards.

mod apply;
mod area;
mod environment;
mod identity;
mod ids;
pub mod net;
mod request;
mod routing;
mod schema;
mod text;
mod topic;
#[cfg(feature = "ssr")]
pub mod webhook;

pub use apply::{GrantRole, StepKind, StepStatus, principal_name};
pub use area::{Area, requires_sign_in};
pub use environment::EnvironmentName;
pub use identity::{GroupName, Role, RoleMapping, TeamSlug, UserIdentity};
pub use ids::{ApplicationId, GrantId, RequestId, TopicId};
pub use request::{Decision, RequestEvent, RequestKind, RequestState};
pub use routing::{ApprovalPolicy, RequiredSlot, RoutingInput, SlotKind, could_fill, may_fill};
pub use schema::{Compatibility, SchemaFormat, SubjectPart};
pub use text::{FieldError, bounded_text, in_words_list};
pub use topic::{
    CleanupPolicy, ConsumerGroup, DataClassification, GROUP_PREFIX_MIN, HIGH_SENSITIVITY_REFUSAL,
    Lifecycle, NamingPolicy, Partitions, RetentionDays, TopicName,
};
