//! What a deployment must not run with. Local development (a loopback `server.public_url`) may
//! use the built-in secrets and plain-text connections of `default.toml`; anywhere else the
//! server refuses to start and names each setting, and `event-bus-portal --check-config` prints
//! the effective configuration with every secret redacted beside the same list.

use super::{DEFAULTS, Settings};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt;

/// One reason this configuration must not serve people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The setting to change, as written in a configuration file.
    pub setting: String,
    pub why: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.why)
    }
}

/// Every secret `default.toml` ships with: known to anyone who can read this repository.
fn development_secrets() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    if let Ok(table) = DEFAULTS.parse::<toml::Table>() {
        collect_secrets(&toml_to_json(toml::Value::Table(table)), &mut found);
    }
    found
}

fn toml_to_json(value: toml::Value) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn collect_secrets(value: &Value, found: &mut BTreeSet<String>) {
    if let Value::Object(map) = value {
        for (key, value) in map {
            match value {
                Value::String(text) if is_secret_key(key) => {
                    found.insert(text.clone());
                }
                other => collect_secrets(other, found),
            }
        }
    }
}

/// Settings whose values are secrets, by name.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("secret") || key.contains("password") || key == "key" || key.ends_with("_key")
}

impl Settings {
    /// What keeps this configuration from serving people outside local development; empty in
    /// local development and for a configuration fit to deploy.
    pub fn deployment_problems(&self) -> Vec<Problem> {
        if self.server.is_local_development() {
            return Vec::new();
        }
        let dev = development_secrets();
        let mut problems = Vec::new();
        let mut secret = |setting: String, value: &SecretString| {
            if dev.contains(value.expose_secret().trim()) {
                problems.push(Problem {
                    setting,
                    why: "is the built-in development secret, which anyone with this \
                          repository knows; set your own"
                        .into(),
                });
            }
        };
        secret("auth.client_secret".into(), &self.auth.client_secret);
        secret("kafka.credential_key".into(), &self.kafka.credential_key);
        secret("audit.key".into(), &self.audit.key);
        for (name, env) in &self.kafka.environments {
            secret(
                format!("kafka.environments.{name}.sasl_password"),
                &env.sasl_password,
            );
        }
        for (name, env) in &self.kafka.environments {
            if !env.uses_tls() && !env.allow_plaintext {
                problems.push(Problem {
                    setting: format!("kafka.environments.{name}.security_protocol"),
                    why: format!(
                        "{} sends the portal's super-user password and every message without \
                         TLS; use SASL_SSL, or set kafka.environments.{name}.allow_plaintext = \
                         true to accept it for this environment",
                        env.security_protocol
                    ),
                });
            }
        }
        if self.server.public_url.scheme() != "https" {
            problems.push(Problem {
                setting: "server.public_url".into(),
                why: "is not https: session cookies and approvals would cross the network in \
                      plain text"
                    .into(),
            });
        }
        if !self.auth.issuer_url.starts_with("https://") {
            problems.push(Problem {
                setting: "auth.issuer_url".into(),
                why: "is not https: sign-in tokens and the provider's keys would be read \
                      without TLS"
                    .into(),
            });
        }
        problems
    }

    /// Refuses a configuration that must not serve people (see [`Settings::deployment_problems`]).
    pub fn check_deployment(&self) -> anyhow::Result<()> {
        let problems = self.deployment_problems();
        if problems.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
        anyhow::bail!(
            "refusing to start: server.public_url {} is not a loopback address, and:\n{}\n\
             (run with --check-config to see the effective configuration)",
            self.server.public_url,
            list.join("\n")
        )
    }
}

/// The effective configuration (defaults, files, environment) as TOML, every secret replaced
/// by whether it is set and whether it is a built-in development value.
pub fn redacted(raw: Value) -> String {
    let dev = development_secrets();
    let value = redact(raw, &dev, None);
    toml::to_string_pretty(&value)
        .unwrap_or_else(|e| format!("# the configuration could not be printed: {e}\n"))
}

fn redact(value: Value, dev: &BTreeSet<String>, key: Option<&str>) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = redact(v, dev, Some(&k));
                    (k, v)
                })
                .collect(),
        ),
        Value::String(text) if key.is_some_and(is_secret_key) => {
            Value::String(if dev.contains(text.trim()) {
                "<redacted: the built-in development value>".into()
            } else if text.is_empty() {
                "<empty>".into()
            } else {
                "<redacted>".into()
            })
        }
        Value::String(text) if key == Some("url") => Value::String(without_password(&text)),
        other => other,
    }
}

/// A connection URL with its password replaced.
fn without_password(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("redacted"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "<redacted: not a URL>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const OWN_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

    /// A configuration fit to deploy, with one setting changed.
    fn deployed(extra: &[(&str, &str)]) -> Settings {
        let mut pairs = vec![
            ("PORTAL__SERVER__PUBLIC_URL", "https://portal.example.test"),
            ("PORTAL__AUTH__ISSUER_URL", "https://login.example.test"),
            ("PORTAL__AUTH__CLIENT_SECRET", "a-real-client-secret"),
            ("PORTAL__KAFKA__CREDENTIAL_KEY", OWN_KEY),
            ("PORTAL__AUDIT__KEY", OWN_KEY),
            ("PORTAL__KAFKA__ENVIRONMENTS__SANDBOX__SASL_PASSWORD", "s1"),
            (
                "PORTAL__KAFKA__ENVIRONMENTS__SANDBOX__SECURITY_PROTOCOL",
                "SASL_SSL",
            ),
            ("PORTAL__KAFKA__ENVIRONMENTS__PROD__SASL_PASSWORD", "s2"),
            (
                "PORTAL__KAFKA__ENVIRONMENTS__PROD__SECURITY_PROTOCOL",
                "SASL_SSL",
            ),
        ];
        pairs.extend_from_slice(extra);
        Settings::load_from([], env(&pairs)).expect("loads")
    }

    fn settings_named(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.setting.as_str()).collect()
    }

    #[test]
    fn local_development_may_use_the_built_in_secrets() {
        let settings = Settings::load_from([], env(&[])).expect("defaults");
        assert!(settings.server.is_local_development());
        assert!(settings.deployment_problems().is_empty());
        assert!(settings.check_deployment().is_ok());
    }

    #[test]
    fn a_deployable_configuration_has_no_problems() {
        assert_eq!(deployed(&[]).deployment_problems(), vec![]);
    }

    #[test]
    fn each_development_secret_is_named_outside_local_development() {
        let settings = Settings::load_from(
            [],
            env(&[("PORTAL__SERVER__PUBLIC_URL", "https://portal.example.test")]),
        )
        .expect("loads");
        let problems = settings.deployment_problems();
        let named = settings_named(&problems);
        for setting in [
            "auth.client_secret",
            "kafka.credential_key",
            "audit.key",
            "kafka.environments.sandbox.sasl_password",
            "kafka.environments.prod.sasl_password",
            "kafka.environments.sandbox.security_protocol",
            "kafka.environments.prod.security_protocol",
            "auth.issuer_url",
        ] {
            assert!(named.contains(&setting), "{setting} not in {named:?}");
        }
        let refused = format!("{:#}", settings.check_deployment().expect_err("refused"));
        assert!(refused.contains("kafka.credential_key"), "{refused}");
        assert!(!refused.contains("portal-admin-secret"), "{refused}");
    }

    #[test]
    fn a_development_secret_under_another_name_is_still_refused() {
        let settings = deployed(&[(
            "PORTAL__KAFKA__ENVIRONMENTS__PROD__SASL_PASSWORD",
            "portal-admin-secret",
        )]);
        assert_eq!(
            settings_named(&settings.deployment_problems()),
            vec!["kafka.environments.prod.sasl_password"]
        );
    }

    #[test]
    fn plaintext_needs_an_explicit_allowance_per_environment() {
        let plain = deployed(&[(
            "PORTAL__KAFKA__ENVIRONMENTS__SANDBOX__SECURITY_PROTOCOL",
            "SASL_PLAINTEXT",
        )]);
        assert_eq!(
            settings_named(&plain.deployment_problems()),
            vec!["kafka.environments.sandbox.security_protocol"]
        );
        let allowed = deployed(&[
            (
                "PORTAL__KAFKA__ENVIRONMENTS__SANDBOX__SECURITY_PROTOCOL",
                "SASL_PLAINTEXT",
            ),
            (
                "PORTAL__KAFKA__ENVIRONMENTS__SANDBOX__ALLOW_PLAINTEXT",
                "true",
            ),
        ]);
        assert!(allowed.deployment_problems().is_empty());
    }

    #[test]
    fn plain_http_addresses_are_refused() {
        let settings = deployed(&[
            ("PORTAL__SERVER__PUBLIC_URL", "http://portal.example.test"),
            ("PORTAL__AUTH__ISSUER_URL", "http://login.example.test"),
        ]);
        assert_eq!(
            settings_named(&settings.deployment_problems()),
            vec!["server.public_url", "auth.issuer_url"]
        );
    }

    #[test]
    fn the_printed_configuration_hides_every_secret() {
        let raw = super::super::Settings::raw_from(
            [],
            env(&[
                ("PORTAL__AUTH__CLIENT_SECRET", "a-real-client-secret"),
                (
                    "PORTAL__DATABASE__URL",
                    "postgres://portal:db-password@db.example.test/portal",
                ),
            ]),
        )
        .expect("loads");
        let printed = redacted(raw);
        for secret in [
            "a-real-client-secret",
            "db-password",
            "portal-admin-secret",
            "event-bus-portal-dev-secret",
            &OWN_KEY[..12],
        ] {
            assert!(!printed.contains(secret), "{secret} printed:\n{printed}");
        }
        assert!(
            printed.contains("client_secret = \"<redacted>\""),
            "{printed}"
        );
        assert!(
            printed.contains("credential_key = \"<redacted: the built-in development value>\""),
            "{printed}"
        );
        assert!(printed.contains("db.example.test"), "{printed}");
        assert!(printed.contains("[kafka.environments.prod]"), "{printed}");
    }
}
