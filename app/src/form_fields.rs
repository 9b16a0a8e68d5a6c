//! A form's fields read by name, into the input its server function takes.
//!
//! Forms checked as one types (`pages::form_check`) read their current fields into the server
//! function's input and run the server's parser on it. Each input says how it is read from the
//! fields ([`ReadFields`]), by the names the server function reads it by (`input[<field>]`), so
//! the browser needs no general form decoder (serde_qs) for each input type. The tests hold every
//! reader to the server's own decoding of the same fields.

/// A form's fields by name: the browser's `FormData`, or fields as posted (in tests).
pub trait FormFields {
    /// The value of `name`; empty when the form has no such field.
    fn text(&self, name: &str) -> String;
    /// Every value of `name`, in order.
    fn all(&self, name: &str) -> Vec<String>;
    /// The value of `name` when the form sends it (a ticked checkbox, a pressed button).
    fn sent(&self, name: &str) -> Option<String>;
}

/// An input read from its form's fields.
pub trait ReadFields: Sized {
    fn read(fields: &impl FormFields) -> Self;
}

impl FormFields for web_sys::FormData {
    fn text(&self, name: &str) -> String {
        self.get(name).as_string().unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.get_all(name)
            .iter()
            .filter_map(|value| value.as_string())
            .collect()
    }

    fn sent(&self, name: &str) -> Option<String> {
        self.has(name).then(|| self.text(name))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Fields as a browser posts them, in order.
    pub(crate) struct Posted(pub Vec<(&'static str, &'static str)>);

    impl Posted {
        /// The body a browser posts: what the server function decodes.
        pub(crate) fn body(&self) -> String {
            let encode = |s: &str| {
                s.replace('%', "%25")
                    .replace('&', "%26")
                    .replace('=', "%3D")
                    .replace('+', "%2B")
                    .replace('[', "%5B")
                    .replace(']', "%5D")
                    .replace(' ', "+")
            };
            self.0
                .iter()
                .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
                .collect::<Vec<_>>()
                .join("&")
        }
    }

    impl FormFields for Posted {
        fn text(&self, name: &str) -> String {
            self.sent(name).unwrap_or_default()
        }

        fn all(&self, name: &str) -> Vec<String> {
            self.0
                .iter()
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
                .collect()
        }

        fn sent(&self, name: &str) -> Option<String> {
            self.0
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    /// Decodes `posted` as the server function does (leptos's URL-encoded arguments).
    #[cfg(feature = "ssr")]
    pub(crate) fn as_the_server_reads<T: serde::de::DeserializeOwned>(posted: &Posted) -> T {
        serde_qs::Config::new(5, false)
            .deserialize_str(&posted.body())
            .expect("the server reads the fields")
    }

    #[cfg(feature = "ssr")]
    mod readers {
        use super::*;
        use crate::applications::RegisterApplication;
        use crate::requests::{ProposeTopic, ProposeTopicChange, RequestAccess};

        /// `posted` is read as the server function reads it, sent field or not.
        fn read_as_the_server_does<I, S>(posted: Posted, input: impl Fn(S) -> I)
        where
            I: ReadFields + PartialEq + std::fmt::Debug,
            S: serde::de::DeserializeOwned,
        {
            assert_eq!(I::read(&posted), input(as_the_server_reads(&posted)));
        }

        #[test]
        fn an_access_request_form_is_read_as_the_server_reads_it() {
            let posted = Posted(vec![
                ("input[kind]", "consumer_access"),
                ("input[topic]", "claim_status_changed"),
                ("input[application]", "7"),
                ("input[environments][]", "sandbox"),
                ("input[environments][]", "production"),
                ("input[consumer_group]", "claims-reader"),
                ("input[group_is_prefix]", "1"),
                ("input[purpose]", "Fees & fines = 100% + more, naïvely"),
                ("input[expiry]", "2027-01-31"),
            ]);
            read_as_the_server_does(posted, |a: RequestAccess| a.input);
            // Nothing ticked or typed: every field empty, as the server reads it.
            read_as_the_server_does(Posted(vec![("input[purpose]", "")]), |a: RequestAccess| {
                a.input
            });
            read_as_the_server_does(
                Posted(vec![
                    ("input[kind]", "producer_access"),
                    ("input[save_as_draft]", "1"),
                ]),
                |a: RequestAccess| a.input,
            );
        }

        #[test]
        fn a_topic_proposal_form_is_read_as_the_server_reads_it() {
            let posted = Posted(vec![
                ("input[name]", "claim_status_changed"),
                ("input[title]", "Claim status changed"),
                (
                    "input[description]",
                    "A claim moved: submitted -> approved.",
                ),
                ("input[business_domain]", "claims"),
                ("input[classification]", "moderate"),
                ("input[contains_pii]", "1"),
                ("input[partitions]", "6"),
                ("input[retention_days]", "7"),
                ("input[cleanup_policy]", "delete"),
                ("input[source_systems]", "claims-core, intake"),
                ("input[application]", "3"),
                ("input[environments][]", "sandbox"),
                ("input[fit_independent_consumers]", "yes"),
                ("input[fit_replaces_polling]", "no"),
                ("input[fit_needs_answer]", "no"),
                ("input[fit_prototype]", "no"),
                ("input[fit_high_sensitivity]", "no"),
                (
                    "input[value_schema]",
                    r#"{"type": "record", "name": "A", "fields": []}"#,
                ),
                ("input[key_schema]", ""),
                ("input[compatibility]", "BACKWARD"),
            ]);
            read_as_the_server_does(posted, |p: ProposeTopic| p.input);
            read_as_the_server_does(Posted(vec![("input[name]", "x")]), |p: ProposeTopic| {
                p.input
            });
        }

        #[test]
        fn a_topic_change_form_is_read_as_the_server_reads_it() {
            let posted = Posted(vec![
                ("input[topic]", "claim_status_changed"),
                ("input[application]", "3"),
                ("input[partitions]", "12"),
                ("input[retention_days]", "14"),
                ("input[cleanup_policy]", "compact"),
                ("input[purpose]", "More consumers; longer replays."),
            ]);
            read_as_the_server_does(posted, |c: ProposeTopicChange| c.input);
        }

        #[test]
        fn an_application_form_is_read_as_the_server_reads_it() {
            let posted = Posted(vec![
                ("input[team]", "claims"),
                ("input[name]", "Claims reader"),
                ("input[system_registration_id]", "SR-1234"),
                ("input[security_package_id]", "SP-42"),
                ("input[fisma_rating]", "moderate"),
                ("input[ato_status]", "authorized"),
                ("input[ato_date]", "2026-03-01"),
                ("input[privacy_assessment]", "completed"),
                ("input[hosting_location]", "VA Enterprise Cloud"),
                ("input[technical_contact]", "tech@example.test"),
                ("input[product_contact]", "owner@example.test"),
            ]);
            read_as_the_server_does(posted, |r: RegisterApplication| r.input);
        }
    }
}
