//! ACLs: the bindings the portal grants, the filters that select them, and the calls that create,
//! describe and delete them. The public enums map variant by variant onto librdkafka's, which the
//! `ffi` module hands to C and reads back.

use super::ffi::{self, AclRead, AclSpec};
use super::{AdminError, KafkaAdmin, first_error};
use rdkafka::bindings as rd;
use std::fmt;

/// One ACL: `permission principal operation` on a resource, from `host` (`*` for any).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    pub resource_type: ResourceType,
    pub resource_name: String,
    pub pattern: PatternType,
    /// `User:name`.
    pub principal: String,
    pub host: String,
    pub operation: AclOperation,
    pub permission: AclPermission,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    Topic,
    Group,
    /// The cluster itself; its resource name is `kafka-cluster`.
    Cluster,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PatternType {
    Literal,
    Prefixed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AclOperation {
    All,
    Read,
    Write,
    Create,
    Delete,
    Alter,
    Describe,
    ClusterAction,
    DescribeConfigs,
    AlterConfigs,
    IdempotentWrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AclPermission {
    Allow,
    Deny,
}

/// Selects ACLs; `None` means "any". Any host matches. A `None` pattern is ANY (not MATCH): it
/// selects literal and prefixed bindings by their exact name, never by prefix matching.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AclFilter {
    pub resource_type: Option<ResourceType>,
    pub resource_name: Option<String>,
    pub pattern: Option<PatternType>,
    pub principal: Option<String>,
    pub operation: Option<AclOperation>,
    pub permission: Option<AclPermission>,
}

impl From<&AclBinding> for AclFilter {
    fn from(acl: &AclBinding) -> Self {
        Self {
            resource_type: Some(acl.resource_type),
            resource_name: Some(acl.resource_name.clone()),
            pattern: Some(acl.pattern),
            principal: Some(acl.principal.clone()),
            operation: Some(acl.operation),
            permission: Some(acl.permission),
        }
    }
}

impl KafkaAdmin {
    /// Creates the bindings; creating an existing one again is not an error.
    pub async fn create_acls(&self, acls: &[AclBinding]) -> Result<(), AdminError> {
        if acls.is_empty() {
            return Ok(());
        }
        let specs = (acls.iter())
            .map(|acl| spec(&AclFilter::from(acl), Some(&acl.host)))
            .collect::<Result<Vec<_>, _>>()?;
        self.blocking(move |client, timeout| {
            first_error(ffi::create_acls(client, timeout, &specs)?)
        })
        .await
    }

    /// The bindings matching the filter, sorted. Bindings this module cannot represent (other
    /// resource types such as transactional ids) are left out.
    pub async fn describe_acls(&self, filter: &AclFilter) -> Result<Vec<AclBinding>, AdminError> {
        let spec = spec(filter, None)?;
        self.blocking(move |client, timeout| {
            let acls = ffi::describe_acls(client, timeout, &spec)?;
            let mut acls: Vec<_> = acls.into_iter().filter_map(binding).collect();
            acls.sort();
            Ok(acls)
        })
        .await
    }

    /// Deletes every binding matching each filter; returns how many bindings were deleted.
    pub async fn delete_acls(&self, filters: &[AclFilter]) -> Result<usize, AdminError> {
        if filters.is_empty() {
            return Ok(0);
        }
        let specs = (filters.iter())
            .map(|filter| spec(filter, None))
            .collect::<Result<Vec<_>, _>>()?;
        self.blocking(move |client, timeout| {
            let mut deleted = 0;
            for response in ffi::delete_acls(client, timeout, &specs)? {
                deleted += response.map_err(|e| AdminError::from_native(&e))?;
            }
            Ok(deleted)
        })
        .await
    }
}

/// A binding (with its host) or a filter (host `None`: any) in librdkafka's terms.
fn spec(filter: &AclFilter, host: Option<&str>) -> Result<AclSpec, AdminError> {
    let text = |s: Option<&str>| s.map(ffi::cstring).transpose();
    Ok(AclSpec {
        resource_type: ResourceType::to_native(filter.resource_type),
        name: text(filter.resource_name.as_deref())?,
        pattern: PatternType::to_native(filter.pattern),
        principal: text(filter.principal.as_deref())?,
        host: text(host)?,
        operation: AclOperation::to_native(filter.operation),
        permission: AclPermission::to_native(filter.permission),
    })
}

/// A binding the cluster described; None for kinds this module does not represent.
fn binding(acl: AclRead) -> Option<AclBinding> {
    Some(AclBinding {
        resource_type: ResourceType::from_native(acl.resource_type)?,
        resource_name: acl.name,
        pattern: PatternType::from_native(acl.pattern)?,
        principal: acl.principal,
        host: acl.host,
        operation: AclOperation::from_native(acl.operation)?,
        permission: AclPermission::from_native(acl.permission)?,
    })
}

impl fmt::Display for AclBinding {
    /// `ALLOW User:x READ on topic orders (literal)`, plus `from host h` unless any host.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (permission, operation) = (words(self.permission), words(self.operation));
        let (resource, pattern) = (words(self.resource_type), words(self.pattern));
        let (principal, name) = (&self.principal, &self.resource_name);
        let (permission, operation) = (permission.to_uppercase(), operation.to_uppercase());
        write!(
            f,
            "{permission} {principal} {operation} on {resource} {name} ({pattern})"
        )?;
        if self.host != "*" {
            write!(f, " from host {}", self.host)?;
        }
        Ok(())
    }
}

/// `ClusterAction` -> `cluster_action`.
fn words(value: impl fmt::Debug) -> String {
    let mut words = String::new();
    for (i, c) in format!("{value:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push('_');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

/// Maps a public enum to its librdkafka counterpart and back, variant by variant.
macro_rules! native_enum {
    ($rust:ident, $native:ident, $any:ident, { $($variant:ident = $c:ident,)* }) => {
        impl $rust {
            fn to_native(value: Option<Self>) -> rd::$native {
                match value {
                    None => rd::$native::$any,
                    $(Some(Self::$variant) => rd::$native::$c,)*
                }
            }

            fn from_native(value: rd::$native) -> Option<Self> {
                match value {
                    $(rd::$native::$c => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

native_enum!(ResourceType, rd_kafka_ResourceType_t, RD_KAFKA_RESOURCE_ANY, {
    Topic = RD_KAFKA_RESOURCE_TOPIC,
    Group = RD_KAFKA_RESOURCE_GROUP,
    Cluster = RD_KAFKA_RESOURCE_BROKER, // librdkafka's BROKER (4) is the ACL resource CLUSTER.
});
native_enum!(PatternType, rd_kafka_ResourcePatternType_t, RD_KAFKA_RESOURCE_PATTERN_ANY, {
    Literal = RD_KAFKA_RESOURCE_PATTERN_LITERAL,
    Prefixed = RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
});
native_enum!(AclOperation, rd_kafka_AclOperation_t, RD_KAFKA_ACL_OPERATION_ANY, {
    All = RD_KAFKA_ACL_OPERATION_ALL,
    Read = RD_KAFKA_ACL_OPERATION_READ,
    Write = RD_KAFKA_ACL_OPERATION_WRITE,
    Create = RD_KAFKA_ACL_OPERATION_CREATE,
    Delete = RD_KAFKA_ACL_OPERATION_DELETE,
    Alter = RD_KAFKA_ACL_OPERATION_ALTER,
    Describe = RD_KAFKA_ACL_OPERATION_DESCRIBE,
    ClusterAction = RD_KAFKA_ACL_OPERATION_CLUSTER_ACTION,
    DescribeConfigs = RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS,
    AlterConfigs = RD_KAFKA_ACL_OPERATION_ALTER_CONFIGS,
    IdempotentWrite = RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE,
});
native_enum!(AclPermission, rd_kafka_AclPermissionType_t, RD_KAFKA_ACL_PERMISSION_TYPE_ANY, {
    Allow = RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW,
    Deny = RD_KAFKA_ACL_PERMISSION_TYPE_DENY,
});

#[cfg(test)]
mod tests {
    use super::*;

    const RESOURCE_TYPES: [ResourceType; 3] = [
        ResourceType::Topic,
        ResourceType::Group,
        ResourceType::Cluster,
    ];
    const PATTERNS: [PatternType; 2] = [PatternType::Literal, PatternType::Prefixed];
    const OPERATIONS: [AclOperation; 11] = [
        AclOperation::All,
        AclOperation::Read,
        AclOperation::Write,
        AclOperation::Create,
        AclOperation::Delete,
        AclOperation::Alter,
        AclOperation::Describe,
        AclOperation::ClusterAction,
        AclOperation::DescribeConfigs,
        AclOperation::AlterConfigs,
        AclOperation::IdempotentWrite,
    ];
    const PERMISSIONS: [AclPermission; 2] = [AclPermission::Allow, AclPermission::Deny];

    fn read_acl() -> AclBinding {
        AclBinding {
            resource_type: ResourceType::Topic,
            resource_name: "orders".into(),
            pattern: PatternType::Literal,
            principal: "User:app-orders".into(),
            host: "*".into(),
            operation: AclOperation::Read,
            permission: AclPermission::Allow,
        }
    }

    #[test]
    fn every_variant_survives_the_trip_through_librdkafka() {
        let mut natives = std::collections::HashSet::new();
        for value in RESOURCE_TYPES {
            let native = ResourceType::to_native(Some(value));
            assert!(natives.insert(native as u32), "{value:?} shares {native:?}");
            assert_eq!(ResourceType::from_native(native), Some(value));
        }
        natives.clear();
        for value in PATTERNS {
            let native = PatternType::to_native(Some(value));
            assert!(natives.insert(native as u32), "{value:?} shares {native:?}");
            assert_eq!(PatternType::from_native(native), Some(value));
        }
        natives.clear();
        for value in OPERATIONS {
            let native = AclOperation::to_native(Some(value));
            assert!(natives.insert(native as u32), "{value:?} shares {native:?}");
            assert_eq!(AclOperation::from_native(native), Some(value));
        }
        natives.clear();
        for value in PERMISSIONS {
            let native = AclPermission::to_native(Some(value));
            assert!(natives.insert(native as u32), "{value:?} shares {native:?}");
            assert_eq!(AclPermission::from_native(native), Some(value));
        }
    }

    #[test]
    fn the_cluster_resource_is_librdkafkas_broker() {
        assert_eq!(
            ResourceType::to_native(Some(ResourceType::Cluster)),
            rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_BROKER
        );
    }

    #[test]
    fn a_filter_without_a_value_matches_any() {
        let spec = spec(&AclFilter::default(), None).expect("a valid filter");
        assert_eq!(
            spec.resource_type,
            rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_ANY
        );
        assert_eq!(
            spec.pattern,
            rd::rd_kafka_ResourcePatternType_t::RD_KAFKA_RESOURCE_PATTERN_ANY
        );
        assert_eq!(
            spec.operation,
            rd::rd_kafka_AclOperation_t::RD_KAFKA_ACL_OPERATION_ANY
        );
        assert_eq!(
            spec.permission,
            rd::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_ANY
        );
        assert_eq!((spec.name, spec.principal, spec.host), (None, None, None));
    }

    #[test]
    fn a_binding_spec_carries_its_host_and_refuses_nul_bytes() {
        let acl = read_acl();
        let spec = spec(&AclFilter::from(&acl), Some(&acl.host)).expect("a valid binding");
        assert_eq!(spec.name.as_deref(), Some(c"orders"));
        assert_eq!(spec.principal.as_deref(), Some(c"User:app-orders"));
        assert_eq!(spec.host.as_deref(), Some(c"*"));
        let filter = AclFilter {
            principal: Some("User:a\0b".into()),
            ..AclFilter::default()
        };
        let error = super::spec(&filter, None).expect_err("a NUL byte");
        assert!(matches!(error, AdminError::Client(_)), "{error:?}");
    }

    #[test]
    fn bindings_read_back_leave_out_kinds_the_portal_does_not_represent() {
        let acl = read_acl();
        let spec = spec(&AclFilter::from(&acl), Some(&acl.host)).expect("a valid binding");
        let read = AclRead {
            resource_type: spec.resource_type,
            name: acl.resource_name.clone(),
            pattern: spec.pattern,
            principal: acl.principal.clone(),
            host: acl.host.clone(),
            operation: spec.operation,
            permission: spec.permission,
        };
        assert_eq!(binding(read.clone()), Some(acl));
        let transactional = AclRead {
            resource_type: rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TRANSACTIONAL_ID,
            ..read.clone()
        };
        assert_eq!(binding(transactional), None);
        let unknown = AclRead {
            operation: rd::rd_kafka_AclOperation_t::RD_KAFKA_ACL_OPERATION_UNKNOWN,
            ..read
        };
        assert_eq!(binding(unknown), None);
    }

    #[test]
    fn bindings_read_as_words_with_their_host_unless_any() {
        assert_eq!(
            read_acl().to_string(),
            "ALLOW User:app-orders READ on topic orders (literal)"
        );
        let acl = AclBinding {
            resource_type: ResourceType::Cluster,
            resource_name: "kafka-cluster".into(),
            operation: AclOperation::IdempotentWrite,
            permission: AclPermission::Deny,
            pattern: PatternType::Prefixed,
            host: "10.0.0.1".into(),
            ..read_acl()
        };
        assert_eq!(
            acl.to_string(),
            "DENY User:app-orders IDEMPOTENT_WRITE on cluster kafka-cluster (prefixed) from host 10.0.0.1"
        );
    }
}
