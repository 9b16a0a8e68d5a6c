//! Address rules for outgoing and incoming connections: which destinations a webhook may reach
//! (never the portal's own network), and which peer is the client behind a trusted proxy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address block: `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// `a.b.c.d`, `a.b.c.d/n`, an IPv6 address, or an IPv6 address with `/n`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { network, prefix })
    }

    const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Self {
        Self {
            network: IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            prefix,
        }
    }

    const fn v6(segments: [u16; 8], prefix: u8) -> Self {
        let [a, b, c, d, e, f, g, h] = segments;
        Self {
            network: IpAddr::V6(Ipv6Addr::new(a, b, c, d, e, f, g, h)),
            prefix,
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Blocks no webhook may reach, with the reason people are told.
const BLOCKED: &[(IpNet, &str)] = &[
    (IpNet::v4(0, 0, 0, 0, 8), "an unspecified address"),
    (IpNet::v4(10, 0, 0, 0, 8), "a private address"),
    (
        IpNet::v4(100, 64, 0, 0, 10),
        "a shared (carrier-grade NAT) address",
    ),
    (IpNet::v4(127, 0, 0, 0, 8), "a loopback address"),
    (
        IpNet::v4(169, 254, 0, 0, 16),
        "a link-local address (cloud metadata lives there)",
    ),
    (IpNet::v4(172, 16, 0, 0, 12), "a private address"),
    (IpNet::v4(192, 0, 0, 0, 24), "a reserved address"),
    (IpNet::v4(192, 0, 2, 0, 24), "a documentation address"),
    (IpNet::v4(192, 168, 0, 0, 16), "a private address"),
    (IpNet::v4(198, 18, 0, 0, 15), "a reserved address"),
    (IpNet::v4(198, 51, 100, 0, 24), "a documentation address"),
    (IpNet::v4(203, 0, 113, 0, 24), "a documentation address"),
    (IpNet::v4(224, 0, 0, 0, 4), "a multicast address"),
    (
        IpNet::v4(240, 0, 0, 0, 4),
        "a reserved or broadcast address",
    ),
    (
        IpNet::v6([0, 0, 0, 0, 0, 0, 0, 0], 128),
        "an unspecified address",
    ),
    (
        IpNet::v6([0, 0, 0, 0, 0, 0, 0, 1], 128),
        "a loopback address",
    ),
    (
        IpNet::v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),
        "a discard address",
    ),
    (
        IpNet::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        "a documentation address",
    ),
    (
        IpNet::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        "a private (unique local) address",
    ),
    (
        IpNet::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
        "a link-local address",
    ),
    (
        IpNet::v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        "a site-local address",
    ),
    (
        IpNet::v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),
        "a multicast address",
    ),
];

/// The IPv4 address an IPv6 address stands for, when it embeds one (mapped, compatible,
/// NAT64 or 6to4): the rules of that IPv4 address apply.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new(
        (s[6] >> 8) as u8,
        (s[6] & 0xff) as u8,
        (s[7] >> 8) as u8,
        (s[7] & 0xff) as u8,
    );
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail),
        [0, 0, 0, 0, 0, 0, _, _] if !ip.is_loopback() && !ip.is_unspecified() => Some(tail),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            (hi & 0xff) as u8,
            (lo >> 8) as u8,
            (lo & 0xff) as u8,
        )),
        _ => None,
    }
}

/// Why the portal must not connect to `ip` on a team's behalf, or `None` when it is a public
/// address. Loopback, private, link-local (cloud metadata), unspecified, multicast, broadcast,
/// reserved and documentation blocks are all refused, IPv4 embedded in IPv6 included.
pub fn forbidden_destination(ip: IpAddr) -> Option<&'static str> {
    if let IpAddr::V6(v6) = ip
        && let Some(v4) = embedded_v4(v6)
    {
        return forbidden_destination(IpAddr::V4(v4));
    }
    BLOCKED
        .iter()
        .find(|(net, _)| net.contains(ip))
        .map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn the_portals_own_networks_are_refused() {
        for bad in [
            "127.0.0.1",
            "127.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "::10.0.0.1",
        ] {
            assert!(forbidden_destination(ip(bad)).is_some(), "{bad}");
        }
        assert_eq!(
            forbidden_destination(ip("169.254.169.254")),
            Some("a link-local address (cloud metadata lives there)")
        );
    }

    #[test]
    fn public_addresses_are_allowed() {
        for good in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(forbidden_destination(ip(good)), None, "{good}");
        }
    }

    #[test]
    fn blocks_parse_and_match() {
        let net = IpNet::parse("10.20.0.0/16").expect("block");
        assert!(net.contains(ip("10.20.3.4")) && !net.contains(ip("10.21.0.1")));
        assert!(!net.contains(ip("::1")));
        let one = IpNet::parse("192.0.2.7").expect("address");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6 = IpNet::parse("fd00::/8").expect("block");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all = IpNet::parse("0.0.0.0/0").expect("everything");
        assert!(all.contains(ip("8.8.8.8")));
        for bad in ["10.0.0.0/33", "nonsense", "10.0.0/8", "::/129", ""] {
            assert!(IpNet::parse(bad).is_none(), "{bad}");
        }
    }
}
