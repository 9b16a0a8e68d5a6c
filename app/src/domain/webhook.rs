//! Where team webhooks may point. A webhook address is written by any team member, and the
//! server posts to it with the portal's network position, so it is checked twice: when it is
//! saved, and at connect time against the addresses it resolves to (see the server's webhook
//! worker), so DNS rebinding cannot lead a delivery into the portal's own network.

use super::net::{IpNet, forbidden_destination};
use std::net::IpAddr;

/// The rules from configuration (`[webhooks]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Only `https://` (everywhere but local development).
    pub require_https: bool,
    /// When not empty, the only hosts allowed: exact names, or `*.example.com` for any
    /// subdomain of `example.com`.
    pub allowed_hosts: Vec<String>,
    /// Blocks exempt from the private-address rule.
    pub allowed_networks: Vec<IpNet>,
}

/// Longest webhook address accepted.
pub const WEBHOOK_URL_MAX: usize = 2000;

impl WebhookPolicy {
    /// Whether `url` may be saved and posted to, before any name is resolved: scheme, host
    /// allow-list, and literal addresses. The message says what to change.
    pub fn check_url(&self, url: &url::Url) -> Result<(), String> {
        match url.scheme() {
            "https" => {}
            "http" if !self.require_https => {}
            "http" => return Err("a webhook must be an https:// address".into()),
            other => return Err(format!("a webhook is an https:// address, not {other}://")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "put a webhook's token in its path, not as a user name and password".into(),
            );
        }
        let host = match url.host() {
            Some(url::Host::Domain(name)) => name.trim_end_matches('.').to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => {
                self.check_address(IpAddr::V4(ip))?;
                ip.to_string()
            }
            Some(url::Host::Ipv6(ip)) => {
                self.check_address(IpAddr::V6(ip))?;
                ip.to_string()
            }
            None => return Err("a webhook address needs a host".into()),
        };
        if !self.host_allowed(&host) {
            return Err(format!(
                "{host} is not one of the hosts webhooks may reach ({})",
                self.allowed_hosts.join(", ")
            ));
        }
        Ok(())
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.allowed_hosts.is_empty()
            || self.allowed_hosts.iter().any(|allowed| {
                let allowed = allowed.trim().trim_end_matches('.').to_ascii_lowercase();
                match allowed.strip_prefix("*.") {
                    Some(domain) => host
                        .strip_suffix(domain)
                        .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
                    None => host == allowed,
                }
            })
    }

    /// Whether a delivery may connect to `ip`: never to the portal's own networks (loopback,
    /// private, link-local, ...) unless configuration exempts that block.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), String> {
        match forbidden_destination(ip) {
            Some(_) if self.allowed_networks.iter().any(|net| net.contains(ip)) => Ok(()),
            Some(why) => Err(format!(
                "a webhook may not reach {why} ({ip}); use the chat service's public address"
            )),
            None => Ok(()),
        }
    }
}

/// Text written by people, made safe inside a Slack message: `&`, `<` and `>` are Slack's
/// control characters (`<https://x|Approve>` is a link), so they are escaped.
pub fn slack_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).expect("url")
    }

    fn production() -> WebhookPolicy {
        WebhookPolicy {
            require_https: true,
            ..WebhookPolicy::default()
        }
    }

    #[test]
    fn outside_development_only_https_is_accepted() {
        assert!(
            production()
                .check_url(&url("https://hooks.slack.com/T/B/x"))
                .is_ok()
        );
        let refused = production()
            .check_url(&url("http://hooks.slack.com/T/B/x"))
            .expect_err("plain http");
        assert!(refused.contains("https://"), "{refused}");
        assert!(production().check_url(&url("ftp://x.example/")).is_err());
        assert!(
            WebhookPolicy::default()
                .check_url(&url("http://hooks.example.com/x"))
                .is_ok(),
            "local development accepts http"
        );
    }

    #[test]
    fn literal_addresses_of_the_portals_networks_are_refused() {
        for bad in [
            "https://127.0.0.1:8080/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.5/hook",
            "https://[::ffff:192.168.0.1]/hook",
            "https://0.0.0.0/hook",
            "https://2130706433/hook",
        ] {
            let refused = production().check_url(&url(bad)).expect_err(bad);
            assert!(refused.contains("may not reach"), "{bad}: {refused}");
        }
        assert!(production().check_url(&url("https://8.8.8.8/hook")).is_ok());
    }

    #[test]
    fn allowed_networks_exempt_their_blocks_only() {
        let policy = WebhookPolicy {
            allowed_networks: vec![IpNet::parse("10.20.0.0/16").expect("block")],
            ..production()
        };
        assert!(policy.check_url(&url("https://10.20.1.1/hook")).is_ok());
        assert!(policy.check_url(&url("https://10.21.1.1/hook")).is_err());
        assert!(
            policy
                .check_address("127.0.0.1".parse().expect("ip"))
                .is_err()
        );
    }

    #[test]
    fn the_allow_list_names_hosts_or_their_subdomains() {
        let policy = WebhookPolicy {
            allowed_hosts: vec!["hooks.slack.com".into(), "*.chat.example.gov".into()],
            ..production()
        };
        assert!(
            policy
                .check_url(&url("https://hooks.slack.com/T/B"))
                .is_ok()
        );
        assert!(
            policy
                .check_url(&url("https://HOOKS.slack.com./T/B"))
                .is_ok()
        );
        assert!(
            policy
                .check_url(&url("https://team.chat.example.gov/h"))
                .is_ok()
        );
        for bad in [
            "https://evil.com/x",
            "https://hooks.slack.com.evil.com/x",
            "https://chat.example.gov/x",
            "https://evilchat.example.gov/x",
        ] {
            let refused = policy.check_url(&url(bad)).expect_err(bad);
            assert!(refused.contains("not one of the hosts"), "{bad}: {refused}");
        }
    }

    #[test]
    fn credentials_in_the_address_are_refused() {
        assert!(
            production()
                .check_url(&url("https://u:p@hooks.example.com/"))
                .is_err()
        );
    }

    #[test]
    fn slack_control_characters_are_escaped() {
        assert_eq!(
            slack_escape("<https://x|Approve> & more"),
            "&lt;https://x|Approve&gt; &amp; more"
        );
        assert_eq!(slack_escape("plain text"), "plain text");
    }
}
