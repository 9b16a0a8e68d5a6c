//! Layered configuration: built-in defaults, then files named in `PORTAL_CONFIG`, then
//! `PORTAL__SECTION__KEY` environment variables. Secrets are `SecretString` so they never print.
//! [`deployment`] refuses the built-in development secrets outside local development.

pub mod deployment;

use anyhow::{Context, bail};
use app::domain::{ApprovalPolicy, EnvironmentName, NamingPolicy, RoleMapping};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;

const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub kafka: KafkaSettings,
    pub approvals: ApprovalPolicy,
    pub naming: NamingPolicy,
    pub webhooks: crate::webhooks::WebhookSettings,
    pub apply: crate::apply::ApplySettings,
    pub health: crate::health::HealthSettings,
    pub registry: crate::registry::RegistrySettings,
    pub audit: AuditSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub public_url: url::Url,
    pub site_root: String,
    /// Reverse proxies whose `X-Forwarded-For` names the client (addresses or CIDR blocks).
    /// Empty: the peer address of the connection is the client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

impl ServerSettings {
    pub fn bind_addr(&self) -> anyhow::Result<SocketAddr> {
        format!("{}:{}", self.host, self.port)
            .parse()
            .with_context(|| {
                format!(
                    "server.host/port {}:{} is not an address",
                    self.host, self.port
                )
            })
    }

    /// Cookies get the `Secure` flag when people reach the portal over https.
    pub fn serves_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// Local development: people reach the portal on a loopback address. Everywhere else the
    /// built-in development secrets and plain-text connections are refused.
    pub fn is_local_development(&self) -> bool {
        match self.public_url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        }
    }

    /// The portal's own origin (`scheme://host[:port]`), as browsers send it in `Origin`.
    pub fn origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub session_idle_minutes: i64,
    /// However active, a session ends this long after sign-in.
    pub session_absolute_hours: i64,
    /// Roles and teams are read again from the identity provider at least this often.
    pub roles_refresh_minutes: i64,
    /// Live event streams (open health pages) one session may hold at once.
    pub max_streams_per_session: usize,
    pub roles: RoleMapping,
}

#[derive(Debug, Clone, Deserialize)]
pub struct KafkaSettings {
    /// Keyed by name; a name that is not an [`EnvironmentName`] fails the load with its reason.
    pub environments: BTreeMap<EnvironmentName, KafkaEnvironmentSettings>,
    /// Seals new application passwords until their team has seen them once: base64 of 32
    /// random bytes.
    pub credential_key: SecretString,
}

/// One Kafka cluster: an environment such as `sandbox` or `prod`.
#[derive(Debug, Clone, Deserialize)]
pub struct KafkaEnvironmentSettings {
    pub order: u16,
    pub display_name: String,
    pub bootstrap_servers: String,
    /// The address applications outside the platform use, shown on their request pages;
    /// `bootstrap_servers` when unset.
    #[serde(default)]
    pub public_bootstrap_servers: Option<String>,
    pub security_protocol: String,
    pub sasl_mechanism: String,
    pub sasl_username: String,
    pub sasl_password: SecretString,
    pub allows_pii: bool,
    /// Outside local development a cluster must be reached over TLS (`SSL` or `SASL_SSL`)
    /// unless this is set for it.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// CA certificates (PEM) that sign the brokers' certificates, when not the system's.
    #[serde(default)]
    pub ssl_ca_location: Option<String>,
}

impl KafkaEnvironmentSettings {
    /// Whether the connection to the brokers is encrypted.
    pub fn uses_tls(&self) -> bool {
        matches!(
            self.security_protocol.to_ascii_uppercase().as_str(),
            "SSL" | "SASL_SSL"
        )
    }
}

/// Configuration section `[audit]`.
#[derive(Debug, Clone, Deserialize)]
pub struct AuditSettings {
    /// Keys the audit chain (HMAC-SHA-256 seals): base64 of 32 random bytes, kept outside the
    /// database, so the database role alone cannot rewrite history.
    pub key: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Settings {
    /// Reads defaults, the files in `PORTAL_CONFIG` (separated by `:`), and the environment.
    pub fn load() -> anyhow::Result<Self> {
        let files = std::env::var("PORTAL_CONFIG").unwrap_or_default();
        Self::load_from(files.split(':').filter(|f| !f.is_empty()), std::env::vars())
    }

    pub fn load_from<'a>(
        files: impl IntoIterator<Item = &'a str>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let settings: Settings = Self::layered(files, env)?
            .try_deserialize()
            .context("configuration has a missing or malformed value")?;
        settings.check()?;
        Ok(settings)
    }

    /// The effective configuration as plain values (for `--check-config`; secrets included, so
    /// print it only through [`deployment::redacted`]).
    pub fn raw() -> anyhow::Result<serde_json::Value> {
        let files = std::env::var("PORTAL_CONFIG").unwrap_or_default();
        Self::raw_from(files.split(':').filter(|f| !f.is_empty()), std::env::vars())
    }

    pub fn raw_from<'a>(
        files: impl IntoIterator<Item = &'a str>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<serde_json::Value> {
        Self::layered(files, env)?
            .try_deserialize()
            .context("configuration has a malformed value")
    }

    fn layered<'a>(
        files: impl IntoIterator<Item = &'a str>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<config::Config> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        for file in files {
            builder = builder.add_source(config::File::with_name(file).required(true));
        }
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("PORTAL__"))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("PORTAL")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        builder.build().context("reading configuration")
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.kafka.environments.is_empty() {
            bail!("configuration lists no Kafka environments (kafka.environments)");
        }
        for (name, env) in &self.kafka.environments {
            if env.bootstrap_servers.trim().is_empty() {
                bail!("kafka.environments.{name}.bootstrap_servers is empty");
            }
        }
        if app::credentials::CredentialVault::from_base64(&self.kafka.credential_key).is_err() {
            bail!(
                "kafka.credential_key must be 32 random bytes, base64-encoded (openssl rand -base64 32)"
            );
        }
        if app::audit::ssr::AuditKey::from_base64(&self.audit.key).is_err() {
            bail!("audit.key must be 32 random bytes, base64-encoded (openssl rand -base64 32)");
        }
        for proxy in &self.server.trusted_proxies {
            if app::domain::net::IpNet::parse(proxy).is_none() {
                bail!("server.trusted_proxies: {proxy:?} is not an address or CIDR block");
            }
        }
        if self.apply.workers == 0 || self.apply.max_attempts <= 0 {
            bail!("apply.workers and apply.max_attempts must be positive");
        }
        self.health.check()?;
        if self.auth.session_idle_minutes <= 0 {
            bail!("auth.session_idle_minutes must be positive");
        }
        if self.auth.session_absolute_hours <= 0 || self.auth.roles_refresh_minutes <= 0 {
            bail!("auth.session_absolute_hours and auth.roles_refresh_minutes must be positive");
        }
        if self.auth.max_streams_per_session == 0 {
            bail!("auth.max_streams_per_session must be positive");
        }
        self.webhooks.check()?;
        self.registry.check()?;
        Ok(())
    }

    /// Environments in their configured order.
    pub fn environments(&self) -> Vec<(&EnvironmentName, &KafkaEnvironmentSettings)> {
        let mut envs: Vec<_> = self.kafka.environments.iter().collect();
        envs.sort_by_key(|(name, env)| (env.order, *name));
        envs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const DEV_CREDENTIAL_KEY: &str = "ZXZlbnQtYnVzLXBvcnRhbC1sb2NhbC1kZXYta2V5ISE=";

    #[test]
    fn a_malformed_credential_key_is_refused() {
        let err = Settings::load_from([], env(&[("PORTAL__KAFKA__CREDENTIAL_KEY", "c2hvcnQ=")]))
            .expect_err("a short key");
        assert!(format!("{err:#}").contains("credential_key"));
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_load_with_two_environments_in_order() {
        let settings = Settings::load_from([], env(&[])).expect("defaults are valid");
        let names: Vec<_> = settings.environments().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, vec!["sandbox", "prod"]);
        assert_eq!(settings.server.port, 3000);
        assert!(!settings.server.serves_https());
    }

    #[test]
    fn an_environment_name_that_is_not_a_name_is_refused() {
        let err = Settings::load_from(
            [],
            env(&[
                ("PORTAL__KAFKA__ENVIRONMENTS__9LIVES__ORDER", "3"),
                ("PORTAL__KAFKA__ENVIRONMENTS__9LIVES__DISPLAY_NAME", "Nine"),
            ]),
        )
        .expect_err("a name starting with a digit");
        assert!(
            format!("{err:#}").contains("starts with a lowercase letter"),
            "{err:#}"
        );
    }

    #[test]
    fn environment_overrides_win() {
        let settings = Settings::load_from(
            [],
            env(&[
                ("PORTAL__SERVER__PORT", "3999"),
                (
                    "PORTAL__KAFKA__ENVIRONMENTS__PROD__SASL_PASSWORD",
                    "from-env",
                ),
                ("PORTAL__SERVER__PUBLIC_URL", "https://portal.example.test"),
                ("UNRELATED", "ignored"),
            ]),
        )
        .expect("valid");
        assert_eq!(settings.server.port, 3999);
        assert_eq!(
            settings.kafka.environments["prod"]
                .sasl_password
                .expose_secret(),
            "from-env"
        );
        assert!(settings.server.serves_https());
    }

    #[test]
    fn malformed_values_are_refused() {
        let err = Settings::load_from([], env(&[("PORTAL__SERVER__PORT", "not-a-port")]))
            .expect_err("port must be a number");
        assert!(format!("{err:#}").contains("configuration"));
        assert!(
            Settings::load_from([], env(&[("PORTAL__AUTH__SESSION_IDLE_MINUTES", "0")])).is_err()
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let settings = Settings::load_from([], env(&[])).expect("valid");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("portal-admin-secret"));
        assert!(!printed.contains("event-bus-portal-dev-secret"));
        assert!(!printed.contains(&DEV_CREDENTIAL_KEY[..12]));
    }
}
