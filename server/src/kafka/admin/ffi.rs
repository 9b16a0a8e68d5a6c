//! The librdkafka calls rdkafka-rs does not expose (incremental config changes, ACLs, SCRAM
//! credentials, the committed offsets of groups, ListOffsets answered partition by partition),
//! behind a safe interface. This is the only module of the server allowed `unsafe`; the crate
//! roots deny it everywhere else.
//!
//! - Every librdkafka object made here is owned by an [`Owned`] guard and freed once, on drop.
//! - Every string handed to C is a [`CString`], checked for NUL bytes by [`cstring`].
//! - Results are borrowed from their event only while it is alive and copied into owned Rust
//!   values ([`NativeError`], [`AclRead`], [`ScramDescription`], [`GroupAnswer`]).
//! - Every call gets its own result queue, polled on the calling (blocking) thread for at most the
//!   timeout plus [`POLL_MARGIN`].
//!
//! What an answer means (which errors are transient, which are benign) is decided by the safe code
//! of `admin` and its other modules, not here.

use super::{Admin, POLL_MARGIN};
use rdkafka::bindings as rd;
use rdkafka::error::RDKafkaErrorCode as Code;
use std::ffi::{CStr, CString, c_char, c_int};
use std::ptr::{self, NonNull};
use std::time::{Duration, Instant};

const NO_ERROR: rd::rd_kafka_resp_err_t = rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;

/// An error librdkafka reported, copied out of its object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeError {
    pub code: Code,
    pub message: String,
    /// Whether librdkafka marks it retriable (false where librdkafka does not say).
    pub retriable: bool,
}

/// Why an admin call gave no results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The request could not be built: bad input, or librdkafka made no object.
    Client(String),
    /// No answer arrived within the timeout.
    NoAnswer,
    /// The request failed as a whole.
    Failed(NativeError),
}

/// A string for C: refused when it holds a NUL byte.
pub fn cstring(text: &str) -> Result<CString, CallError> {
    CString::new(text).map_err(|_| CallError::Client("a name contains a NUL character".into()))
}

/// A binding (to create) or a filter (to describe or delete) in librdkafka's terms, its strings
/// checked. `Send`, unlike the native object made from it on the calling thread. A `None` string
/// means "any" in a filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclSpec {
    pub resource_type: rd::rd_kafka_ResourceType_t,
    pub name: Option<CString>,
    pub pattern: rd::rd_kafka_ResourcePatternType_t,
    pub principal: Option<CString>,
    pub host: Option<CString>,
    pub operation: rd::rd_kafka_AclOperation_t,
    pub permission: rd::rd_kafka_AclPermissionType_t,
}

/// A binding as the cluster described it. librdkafka turns enum values it does not know into
/// UNKNOWN, so each enum here is one of its declared variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclRead {
    pub resource_type: rd::rd_kafka_ResourceType_t,
    pub name: String,
    pub pattern: rd::rd_kafka_ResourcePatternType_t,
    pub principal: String,
    pub host: String,
    pub operation: rd::rd_kafka_AclOperation_t,
    pub permission: rd::rd_kafka_AclPermissionType_t,
}

/// One change to a user's SCRAM credentials. No `Debug`: it holds a password.
pub enum ScramAlteration<'a> {
    /// Creates or replaces the credential. librdkafka draws a random salt and computes the salted
    /// password; the password itself never leaves the client.
    Upsert {
        user: &'a CStr,
        mechanism: rd::rd_kafka_ScramMechanism_t,
        iterations: i32,
        password: &'a [u8],
    },
    Delete {
        user: &'a CStr,
        mechanism: rd::rd_kafka_ScramMechanism_t,
    },
}

/// What the cluster holds for one user: its error (such as RESOURCE_NOT_FOUND for a user without
/// credentials), or the mechanisms of its credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScramDescription {
    pub user: String,
    pub error: Option<NativeError>,
    pub mechanisms: Vec<rd::rd_kafka_ScramMechanism_t>,
}

/// The answer for one consumer group: its error, or an entry per partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupAnswer {
    pub group: String,
    pub partitions: Result<Vec<PartitionOffset>, NativeError>,
}

/// One partition of a group's answer: negative offsets mean "none committed".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionOffset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub error: Code,
}

/// IncrementalAlterConfigs: SET each `(key, value)` on one topic. Returns each resource's error.
pub fn alter_topic_configs(
    client: &Admin,
    timeout: Duration,
    topic: &CStr,
    configs: &[(CString, CString)],
) -> Result<Vec<Option<NativeError>>, CallError> {
    let kind = rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC;
    // SAFETY: `topic` is NUL-terminated and copied; the new resource is ours, freed by its guard.
    let resource = unsafe {
        let resource = rd::rd_kafka_ConfigResource_new(kind, topic.as_ptr());
        Owned::new(resource, rd::rd_kafka_ConfigResource_destroy)?
    };
    for (key, value) in configs {
        let set = rd::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET;
        // SAFETY: the resource is live; key and value are NUL-terminated and copied. An error
        // returned is ours: its guard frees it after it is read.
        let error = unsafe {
            let error = rd::rd_kafka_ConfigResource_add_incremental_config(
                resource.as_ptr(),
                key.as_ptr(),
                set,
                value.as_ptr(),
            );
            Owned::new(error, rd::rd_kafka_error_destroy)
        };
        if let Ok(error) = error {
            return Err(error
                .read()
                .map_or_else(|| CallError::Client("bad config".into()), CallError::Failed));
        }
    }
    let mut resources = [resource.as_ptr()];
    call(
        client,
        timeout,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
        // SAFETY: one live resource (copied by librdkafka); handle, options and queue are live.
        |rk, options, queue| unsafe {
            let (array, len) = (resources.as_mut_ptr(), resources.len());
            rd::rd_kafka_IncrementalAlterConfigs(rk, array, len, options, queue);
        },
        rd::rd_kafka_event_IncrementalAlterConfigs_result,
        rd::rd_kafka_IncrementalAlterConfigs_result_resources,
        |resources| {
            let errors = resources.iter().map(|&resource| {
                // SAFETY: a resource result alive with its event; its message is copied.
                let (code, message) = unsafe {
                    let message = rd::rd_kafka_ConfigResource_error_string(resource);
                    (rd::rd_kafka_ConfigResource_error(resource), string(message))
                };
                (code != NO_ERROR).then(|| NativeError {
                    code: code.into(),
                    message,
                    retriable: false,
                })
            });
            errors.collect()
        },
    )
}

/// CreateAcls. Returns each binding's error.
pub fn create_acls(
    client: &Admin,
    timeout: Duration,
    specs: &[AclSpec],
) -> Result<Vec<Option<NativeError>>, CallError> {
    let bindings = (specs.iter())
        .map(|spec| spec.to_native(false))
        .collect::<Result<Vec<_>, _>>()?;
    let mut pointers: Vec<_> = bindings.iter().map(Owned::as_ptr).collect();
    call(
        client,
        timeout,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEACLS,
        // SAFETY: live bindings owned by `bindings` (copied by librdkafka); handle, options and
        // queue are live.
        |rk, options, queue| unsafe {
            let (array, len) = (pointers.as_mut_ptr(), pointers.len());
            rd::rd_kafka_CreateAcls(rk, array, len, options, queue);
        },
        rd::rd_kafka_event_CreateAcls_result,
        rd::rd_kafka_CreateAcls_result_acls,
        |results| {
            let errors = results.iter().map(|&result| {
                // SAFETY: a result alive with its event, and so is its error.
                unsafe { error_of(rd::rd_kafka_acl_result_error(result)) }
            });
            errors.collect()
        },
    )
}

/// DescribeAcls: the bindings matching the filter, as the cluster lists them.
pub fn describe_acls(
    client: &Admin,
    timeout: Duration,
    filter: &AclSpec,
) -> Result<Vec<AclRead>, CallError> {
    let native = filter.to_native(true)?;
    call(
        client,
        timeout,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEACLS,
        // SAFETY: a live filter (copied by librdkafka); handle, options and queue are live.
        |rk, options, queue| unsafe {
            rd::rd_kafka_DescribeAcls(rk, native.as_ptr(), options, queue);
        },
        rd::rd_kafka_event_DescribeAcls_result,
        rd::rd_kafka_DescribeAcls_result_acls,
        |acls| {
            let acls = acls.iter().map(|&acl| {
                // SAFETY: a binding alive with its event.
                unsafe { acl_read(acl) }
            });
            acls.collect()
        },
    )
}

/// DeleteAcls: for each filter, how many bindings it deleted, or its error.
pub fn delete_acls(
    client: &Admin,
    timeout: Duration,
    filters: &[AclSpec],
) -> Result<Vec<Result<usize, NativeError>>, CallError> {
    let natives = (filters.iter())
        .map(|spec| spec.to_native(true))
        .collect::<Result<Vec<_>, _>>()?;
    let mut pointers: Vec<_> = natives.iter().map(Owned::as_ptr).collect();
    call(
        client,
        timeout,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETEACLS,
        // SAFETY: live filters owned by `natives` (copied by librdkafka); handle, options and
        // queue are live.
        |rk, options, queue| unsafe {
            let (array, len) = (pointers.as_mut_ptr(), pointers.len());
            rd::rd_kafka_DeleteAcls(rk, array, len, options, queue);
        },
        rd::rd_kafka_event_DeleteAcls_result,
        rd::rd_kafka_DeleteAcls_result_responses,
        |responses| {
            let responses = responses.iter().map(|&response| {
                // SAFETY: a response alive with its event, and so is its error; only the count of
                // matching bindings is read.
                unsafe {
                    let error = rd::rd_kafka_DeleteAcls_result_response_error(response);
                    if let Some(error) = error_of(error) {
                        return Err(error);
                    }
                    let mut count = 0;
                    rd::rd_kafka_DeleteAcls_result_response_matching_acls(response, &mut count);
                    Ok(count)
                }
            });
            responses.collect()
        },
    )
}

/// AlterUserScramCredentials with one alteration. Returns each response's error.
pub fn alter_scram(
    client: &Admin,
    timeout: Duration,
    alteration: &ScramAlteration<'_>,
) -> Result<Vec<Option<NativeError>>, CallError> {
    let native = match *alteration {
        ScramAlteration::Upsert {
            user,
            mechanism,
            iterations,
            password,
        } => {
            // SAFETY: `user` is NUL-terminated; the password bytes are valid for their length;
            // both are copied. A NULL salt of size 0 makes librdkafka draw a random 64-byte salt.
            unsafe {
                rd::rd_kafka_UserScramCredentialUpsertion_new(
                    user.as_ptr(),
                    mechanism,
                    iterations,
                    password.as_ptr(),
                    password.len(),
                    ptr::null(),
                    0,
                )
            }
        }
        ScramAlteration::Delete { user, mechanism } => {
            // SAFETY: `user` is NUL-terminated and copied.
            unsafe { rd::rd_kafka_UserScramCredentialDeletion_new(user.as_ptr(), mechanism) }
        }
    };
    let destroy = rd::rd_kafka_UserScramCredentialAlteration_destroy;
    // SAFETY: a fresh alteration, ours to destroy, or null.
    let native = unsafe { Owned::new(native, destroy)? };
    let mut alterations = [native.as_ptr()];
    call(
        client,
        timeout,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERUSERSCRAMCREDENTIALS,
        // SAFETY: one live alteration (copied by librdkafka); handle, options and queue are live.
        |rk, options, queue| unsafe {
            let (array, len) = (alterations.as_mut_ptr(), alterations.len());
            rd::rd_kafka_AlterUserScramCredentials(rk, array, len, options, queue);
        },
        rd::rd_kafka_event_AlterUserScramCredentials_result,
        rd::rd_kafka_AlterUserScramCredentials_result_responses,
        |responses| {
            let errors = responses.iter().map(|&response| {
                // SAFETY: a response alive with its event, and so is its error.
                unsafe {
                    error_of(rd::rd_kafka_AlterUserScramCredentials_result_response_error(response))
                }
            });
            errors.collect()
        },
    )
}

/// DescribeUserScramCredentials for these users (an empty list would describe every user).
pub fn describe_scram(
    client: &Admin,
    timeout: Duration,
    users: &[CString],
) -> Result<Vec<ScramDescription>, CallError> {
    let mut pointers: Vec<*const c_char> = users.iter().map(|u| u.as_ptr()).collect();
    call(
        client,
        timeout,
        rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEUSERSCRAMCREDENTIALS,
        // SAFETY: NUL-terminated names owned by `users` (copied by librdkafka); handle, options
        // and queue are live.
        |rk, options, queue| unsafe {
            let (array, len) = (pointers.as_mut_ptr(), pointers.len());
            rd::rd_kafka_DescribeUserScramCredentials(rk, array, len, options, queue);
        },
        rd::rd_kafka_event_DescribeUserScramCredentials_result,
        rd::rd_kafka_DescribeUserScramCredentials_result_descriptions,
        |descriptions| {
            let descriptions = descriptions.iter().map(|&description| {
                // SAFETY: a description alive with its event.
                unsafe { scram_description(description) }
            });
            descriptions.collect()
        },
    )
}

/// ListConsumerGroupOffsets, one request per group (librdkafka takes one group per call), all
/// sent at once on one queue and collected together until the timeout. Groups that got no answer
/// in time are missing from the result; the answers come in no particular order.
pub fn list_group_offsets(
    client: &Admin,
    timeout: Duration,
    groups: &[CString],
) -> Result<Vec<GroupAnswer>, CallError> {
    let operation = rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS;
    let request = Request::new(client, operation, timeout)?;
    for group in groups {
        // SAFETY: the group name is NUL-terminated and copied; a null partition list asks for
        // every partition. The request object is copied by the call and freed by its guard; the
        // handle, options and queue are live.
        unsafe {
            let one = Owned::new(
                rd::rd_kafka_ListConsumerGroupOffsets_new(group.as_ptr(), ptr::null()),
                rd::rd_kafka_ListConsumerGroupOffsets_destroy,
            )?;
            let mut requests = [one.as_ptr()];
            rd::rd_kafka_ListConsumerGroupOffsets(
                request.handle(),
                requests.as_mut_ptr(),
                1,
                request.options.as_ptr(),
                request.queue.as_ptr(),
            );
        }
    }
    let deadline = Instant::now() + timeout + POLL_MARGIN;
    let mut answers = Vec::new();
    for _ in 0..groups.len() {
        let Some(event) = request.poll(deadline.saturating_duration_since(Instant::now())) else {
            break;
        };
        // SAFETY: the event is live until the end of this iteration; the result accessor returns
        // null for another event type, and the group results live as long as the event.
        unsafe {
            if rd::rd_kafka_event_error(event.as_ptr()) != NO_ERROR {
                continue;
            }
            let result = rd::rd_kafka_event_ListConsumerGroupOffsets_result(event.as_ptr());
            if result.is_null() {
                continue;
            }
            let mut count = 0;
            let array = rd::rd_kafka_ListConsumerGroupOffsets_result_groups(result, &mut count);
            if array.is_null() {
                continue;
            }
            for &group in std::slice::from_raw_parts(array, count) {
                answers.push(group_answer(group));
            }
        }
    }
    Ok(answers)
}

/// Lists offsets for every partition of `list`, answered in place: each element's offset holds the
/// timestamp to look up (or the END / BEGINNING sentinels) and, after the call, the offset found,
/// with a per-partition error where that partition failed. Unlike rdkafka's `offsets_for_times`,
/// one partition between leaders does not hide the answers of all the others. Returns the first
/// error librdkafka reported, if any.
pub fn list_offsets_in_place(
    consumer: &rdkafka::consumer::BaseConsumer,
    list: &mut rdkafka::TopicPartitionList,
    timeout: Duration,
) -> Option<Code> {
    use rdkafka::consumer::Consumer;
    // SAFETY: the client handle is live for the call and the list is ours (borrowed mutably);
    // librdkafka writes offsets and errors into the list's elements and keeps no reference.
    let code = unsafe {
        rd::rd_kafka_offsets_for_times(consumer.client().native_ptr(), list.ptr(), millis(timeout))
    };
    (code != NO_ERROR).then(|| code.into())
}

// ---------------------------------------------------------------------------------------------
// Objects, requests and readers.

type Event = rd::rd_kafka_event_t;

/// A librdkafka object we own, freed exactly once by its destructor on drop.
struct Owned<T>(NonNull<T>, unsafe extern "C" fn(*mut T));

impl<T> Owned<T> {
    /// # Safety
    /// `ptr` is null or a live object owned by the caller and freed by `destroy`.
    unsafe fn new(ptr: *mut T, destroy: unsafe extern "C" fn(*mut T)) -> Result<Self, CallError> {
        NonNull::new(ptr)
            .map(|ptr| Self(ptr, destroy))
            .ok_or_else(|| CallError::Client("librdkafka returned no object".into()))
    }

    fn as_ptr(&self) -> *mut T {
        self.0.as_ptr()
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: by construction we own the object and nobody else frees it.
        unsafe { (self.1)(self.0.as_ptr()) }
    }
}

impl Owned<rd::rd_kafka_error_t> {
    /// The error this object holds; None when its code is NO_ERROR.
    fn read(&self) -> Option<NativeError> {
        // SAFETY: a live error object, ours until the guard drops.
        unsafe { error_of(self.as_ptr()) }
    }
}

impl AclSpec {
    /// A native AclBinding (`filter == false`) or AclBindingFilter.
    fn to_native(&self, filter: bool) -> Result<Owned<rd::rd_kafka_AclBinding_t>, CallError> {
        let text = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        let new = if filter {
            rd::rd_kafka_AclBindingFilter_new
        } else {
            rd::rd_kafka_AclBinding_new
        };
        let mut errstr: [c_char; 256] = [0; 256];
        // SAFETY: the strings are NUL-terminated (or null, meaning any, in a filter) and copied;
        // `errstr` is writable for its length. A binding returned is ours, freed by its guard.
        let binding = unsafe {
            let binding = new(
                self.resource_type,
                text(&self.name),
                self.pattern,
                text(&self.principal),
                text(&self.host),
                self.operation,
                self.permission,
                errstr.as_mut_ptr(),
                errstr.len(),
            );
            Owned::new(binding, rd::rd_kafka_AclBinding_destroy)
        };
        binding.map_err(|_| CallError::Client(format!("invalid ACL: {}", buffer_text(&errstr))))
    }
}

/// One admin request: its options (with the request timeout set) and its own result queue, on a
/// borrowed client.
struct Request<'a> {
    client: &'a Admin,
    options: Owned<rd::rd_kafka_AdminOptions_t>,
    queue: Owned<rd::rd_kafka_queue_t>,
}

impl<'a> Request<'a> {
    fn new(
        client: &'a Admin,
        operation: rd::rd_kafka_admin_op_t,
        timeout: Duration,
    ) -> Result<Self, CallError> {
        let rk = client.inner().native_ptr();
        // SAFETY: `rk` is the live handle owned by `client`, which the request borrows; the new
        // options and queue are ours, each freed by its guard.
        let (options, queue) = unsafe {
            let options = rd::rd_kafka_AdminOptions_new(rk, operation);
            let options = Owned::new(options, rd::rd_kafka_AdminOptions_destroy)?;
            let queue = Owned::new(rd::rd_kafka_queue_new(rk), rd::rd_kafka_queue_destroy)?;
            (options, queue)
        };
        let mut errstr: [c_char; 256] = [0; 256];
        // SAFETY: live options; `errstr` is writable for its length.
        let code = unsafe {
            let (buffer, len) = (errstr.as_mut_ptr(), errstr.len());
            rd::rd_kafka_AdminOptions_set_request_timeout(
                options.as_ptr(),
                millis(timeout),
                buffer,
                len,
            )
        };
        if code != NO_ERROR {
            let message = format!("request timeout: {}", buffer_text(&errstr));
            return Err(CallError::Client(message));
        }
        Ok(Self {
            client,
            options,
            queue,
        })
    }

    /// The client's handle, live as long as the client this request borrows.
    fn handle(&self) -> *mut rd::rd_kafka_t {
        self.client.inner().native_ptr()
    }

    /// The next event on the queue, waiting at most `wait`; None when none came.
    fn poll(&self, wait: Duration) -> Option<Owned<Event>> {
        // SAFETY: the queue is live; an event it returns is ours to destroy. If we stop waiting,
        // the queue guard drops our reference and librdkafka discards the late result.
        unsafe {
            let event = rd::rd_kafka_queue_poll(self.queue.as_ptr(), millis(wait));
            Owned::new(event, rd::rd_kafka_event_destroy).ok()
        }
    }
}

/// Runs one admin request on its own queue, blocking until its result event arrives (or the
/// timeout passes), and hands the event's result items to `read` while the event is alive.
/// `submit` makes the C call with the client handle, the options and the queue; `result` and
/// `items` are the librdkafka accessors of this operation's result type and item array.
fn call<T, R>(
    client: &Admin,
    timeout: Duration,
    operation: rd::rd_kafka_admin_op_t,
    submit: impl FnOnce(
        *mut rd::rd_kafka_t,
        *const rd::rd_kafka_AdminOptions_t,
        *mut rd::rd_kafka_queue_t,
    ),
    result: unsafe extern "C" fn(*mut Event) -> *const Event,
    items: unsafe extern "C" fn(*const Event, *mut usize) -> *mut *const T,
    read: impl FnOnce(&[*const T]) -> R,
) -> Result<R, CallError> {
    let request = Request::new(client, operation, timeout)?;
    submit(
        request.handle(),
        request.options.as_ptr(),
        request.queue.as_ptr(),
    );
    let event = request
        .poll(timeout + POLL_MARGIN)
        .ok_or(CallError::NoAnswer)?;
    // SAFETY: the event is live until the end of this function; its error string is copied, and
    // the result accessor returns null for an event of another type. The item array and its
    // `count` elements live as long as the event, which outlives `read`.
    unsafe {
        let code = rd::rd_kafka_event_error(event.as_ptr());
        if code != NO_ERROR {
            let message = string(rd::rd_kafka_event_error_string(event.as_ptr()));
            return Err(CallError::Failed(NativeError {
                code: code.into(),
                message,
                retriable: false,
            }));
        }
        let result = result(event.as_ptr());
        if result.is_null() {
            return Err(CallError::Client(
                "librdkafka answered with another event".into(),
            ));
        }
        let mut count = 0;
        let array = items(result, &mut count);
        if array.is_null() || count == 0 {
            return Ok(read(&[]));
        }
        Ok(read(std::slice::from_raw_parts(array, count)))
    }
}

/// The error of a librdkafka error object; None when there is no error.
///
/// # Safety
/// `error` is null or a live error object.
unsafe fn error_of(error: *const rd::rd_kafka_error_t) -> Option<NativeError> {
    if error.is_null() {
        return None;
    }
    // SAFETY: a live error object, per the contract; its string is copied.
    let (code, message, retriable) = unsafe {
        (
            rd::rd_kafka_error_code(error),
            string(rd::rd_kafka_error_string(error)),
            rd::rd_kafka_error_is_retriable(error) != 0,
        )
    };
    let code = Code::from(code);
    (code != Code::NoError).then_some(NativeError {
        code,
        message,
        retriable,
    })
}

/// Copies a binding out of librdkafka.
///
/// # Safety
/// `acl` is a live binding.
unsafe fn acl_read(acl: *const rd::rd_kafka_AclBinding_t) -> AclRead {
    // SAFETY: a live binding, per the contract; its strings are copied.
    unsafe {
        AclRead {
            resource_type: rd::rd_kafka_AclBinding_restype(acl),
            name: string(rd::rd_kafka_AclBinding_name(acl)),
            pattern: rd::rd_kafka_AclBinding_resource_pattern_type(acl),
            principal: string(rd::rd_kafka_AclBinding_principal(acl)),
            host: string(rd::rd_kafka_AclBinding_host(acl)),
            operation: rd::rd_kafka_AclBinding_operation(acl),
            permission: rd::rd_kafka_AclBinding_permission_type(acl),
        }
    }
}

/// Copies a SCRAM credentials description out of librdkafka.
///
/// # Safety
/// `description` is a live UserScramCredentialsDescription.
unsafe fn scram_description(
    description: *const rd::rd_kafka_UserScramCredentialsDescription_t,
) -> ScramDescription {
    use rd::rd_kafka_UserScramCredentialsDescription_error as error;
    use rd::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo as info;
    use rd::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo_count as info_count;
    use rd::rd_kafka_UserScramCredentialsDescription_user as user;
    // SAFETY: a live description, per the contract: its error, its infos (indexed below their
    // count) and its user name (copied) live as long as it does.
    unsafe {
        let infos = (0..info_count(description)).map(|i| info(description, i));
        ScramDescription {
            user: string(user(description)),
            error: error_of(error(description)),
            mechanisms: infos
                .filter(|i| !i.is_null())
                .map(|i| rd::rd_kafka_ScramCredentialInfo_mechanism(i))
                .collect(),
        }
    }
}

/// Copies one group's answer out of librdkafka.
///
/// # Safety
/// `group` is a live group result.
unsafe fn group_answer(group: *const rd::rd_kafka_group_result_t) -> GroupAnswer {
    // SAFETY: a live group result, per the contract: its name (copied), its error, its partition
    // list and the list's `cnt` elements live as long as it does.
    unsafe {
        let name = string(rd::rd_kafka_group_result_name(group));
        if let Some(error) = error_of(rd::rd_kafka_group_result_error(group)) {
            return GroupAnswer {
                group: name,
                partitions: Err(error),
            };
        }
        let list = rd::rd_kafka_group_result_partitions(group);
        let mut partitions = Vec::new();
        if !list.is_null() && (*list).cnt > 0 && !(*list).elems.is_null() {
            let count = usize::try_from((*list).cnt).unwrap_or(0);
            for element in std::slice::from_raw_parts((*list).elems, count) {
                partitions.push(PartitionOffset {
                    topic: string(element.topic),
                    partition: element.partition,
                    offset: element.offset,
                    error: element.err.into(),
                });
            }
        }
        GroupAnswer {
            group: name,
            partitions: Ok(partitions),
        }
    }
}

/// Copies a C string (empty for null; invalid UTF-8 replaced).
///
/// # Safety
/// `text` is null or a live NUL-terminated string.
unsafe fn string(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: a live NUL-terminated string, per the contract.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

/// The text librdkafka wrote into an error buffer: up to the first NUL, or all of it.
fn buffer_text(buffer: &[c_char]) -> String {
    let bytes: Vec<u8> = buffer.iter().map(|&c| c.to_ne_bytes()[0]).collect();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn millis(duration: Duration) -> c_int {
    c_int::try_from(duration.as_millis()).unwrap_or(c_int::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_a_nul_byte_are_refused() {
        assert_eq!(
            cstring("orders").map(CString::into_bytes),
            Ok(b"orders".to_vec())
        );
        assert_eq!(
            cstring("ord\0ers"),
            Err(CallError::Client("a name contains a NUL character".into()))
        );
    }

    #[test]
    fn error_buffers_are_read_up_to_their_nul() {
        let mut buffer: [c_char; 8] = [0; 8];
        for (slot, byte) in buffer.iter_mut().zip(b"bad\0xy") {
            *slot = c_char::from_ne_bytes([*byte]);
        }
        assert_eq!(buffer_text(&buffer), "bad");
        assert_eq!(buffer_text(&[0; 4]), "");
        // A buffer librdkafka filled to the end without a NUL is still read, not overrun.
        let full = [c_char::from_ne_bytes([b'x']); 3];
        assert_eq!(buffer_text(&full), "xxx");
    }

    #[test]
    fn timeouts_in_milliseconds_saturate() {
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::ZERO), 0);
        assert_eq!(millis(Duration::from_secs(u64::MAX)), c_int::MAX);
    }
}
