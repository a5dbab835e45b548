//! Which URLs a webhook endpoint may point at, checked twice: when an
//! endpoint is created or changed ([`check_endpoint_url`]), and again at
//! every connection ([`FilteringResolver`], the delivery client's DNS
//! resolver), because a name that resolved to a public address at creation
//! may resolve to `127.0.0.1` or `169.254.169.254` by the time a delivery is
//! made (DNS rebinding).
//!
//! Refused, unless the operator allows it (`PORTAL_WEBHOOK_ALLOW_PRIVATE`,
//! which the tests use): any URL one of whose addresses is loopback,
//! private (RFC 1918), link-local (including the cloud metadata address
//! 169.254.169.254), carrier-grade NAT (100.64.0.0/10), unspecified,
//! broadcast, multicast, reserved, benchmarking or documentation, or, for
//! IPv6, unique-local (fc00::/7), link-local (fe80::/10), site-local, the
//! IPv4-mapped, -compatible, NAT64 and 6to4 forms of a refused IPv4 address,
//! and names that are internal by construction (`localhost`,
//! `metadata.google.internal`, `*.internal`, `*.local`). *Any* rather
//! than *all*: a name resolving to one public and one private address could
//! be connected to either. Names under `.invalid` (RFC 6761) are answered
//! as unresolvable at once, without a DNS query, whatever the setting.
//!
//! `https` is required unless `PORTAL_WEBHOOK_ALLOW_HTTP` is set; a URL with
//! a user name or password is refused (the credentials would be sent to the
//! receiver in clear in the log, and a secret belongs in the signature).

use std::{
    future::Future,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    pin::Pin,
    sync::Arc,
};

use platform::config::WebhookConfig;
use url::{Host, Url};

/// How long the check of a new endpoint URL waits for its name to resolve.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// What an endpoint URL may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UrlPolicy {
    /// Non-public addresses are accepted (`PORTAL_WEBHOOK_ALLOW_PRIVATE`).
    pub allow_private: bool,
    /// Plain `http` is accepted (`PORTAL_WEBHOOK_ALLOW_HTTP`).
    pub allow_http: bool,
}

impl UrlPolicy {
    /// The operator's settings.
    pub fn from_config(config: &WebhookConfig) -> Self {
        Self {
            allow_private: config.allow_private,
            allow_http: config.allow_http,
        }
    }
}

/// Why an endpoint URL was refused; the message is safe to show the user
/// (it names the rule, and the address only when they typed it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefusal {
    /// Not a URL at all.
    #[error("not a valid URL: {0}")]
    Invalid(String),
    /// Not `https` (or `http` when allowed).
    #[error("the URL must start with https://")]
    Scheme,
    /// A user name or password in the URL.
    #[error("the URL must not contain a user name or password")]
    Credentials,
    /// No host name.
    #[error("the URL has no host")]
    NoHost,
    /// A name that is internal by construction (`localhost`, `*.internal`).
    #[error("the host {0} is an internal name")]
    InternalName(String),
    /// The name did not resolve.
    #[error("the host {0} cannot be resolved")]
    Unresolvable(String),
    /// The host is, or resolves to, a non-public address.
    #[error("the URL points at a private or reserved address ({0})")]
    PrivateAddress(IpAddr),
}

/// Checks an endpoint URL against `policy`, resolving its host name: the
/// check at creation and update. Returns the parsed URL.
pub async fn check_endpoint_url(raw: &str, policy: &UrlPolicy) -> Result<Url, UrlRefusal> {
    let url = check_syntax(raw, policy)?;
    if policy.allow_private {
        return Ok(url);
    }
    let host = match url.host() {
        Some(Host::Ipv4(ip)) => return check_ip(IpAddr::V4(ip)).map(|()| url),
        Some(Host::Ipv6(ip)) => return check_ip(IpAddr::V6(ip)).map(|()| url),
        Some(Host::Domain(name)) => name.to_owned(),
        None => return Err(UrlRefusal::NoHost),
    };
    if is_never_resolvable(&host) {
        return Err(UrlRefusal::Unresolvable(host));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    // Bounded: a resolver that does not answer must not hold the request.
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        LOOKUP_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .ok_or_else(|| UrlRefusal::Unresolvable(host.clone()))?
    .collect();
    if addrs.is_empty() {
        return Err(UrlRefusal::Unresolvable(host));
    }
    for addr in addrs {
        check_ip(addr.ip())?;
    }
    Ok(url)
}

/// The checks that need no DNS: scheme, credentials, host, internal names.
pub fn check_syntax(raw: &str, policy: &UrlPolicy) -> Result<Url, UrlRefusal> {
    let url = Url::parse(raw.trim()).map_err(|e| UrlRefusal::Invalid(e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        _ => return Err(UrlRefusal::Scheme),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefusal::Credentials);
    }
    match url.host() {
        None => return Err(UrlRefusal::NoHost),
        Some(Host::Domain(name)) if !policy.allow_private && is_internal_name(name) => {
            return Err(UrlRefusal::InternalName(name.to_owned()));
        }
        Some(_) => {}
    }
    Ok(url)
}

fn check_ip(ip: IpAddr) -> Result<(), UrlRefusal> {
    if is_public(ip) {
        Ok(())
    } else {
        Err(UrlRefusal::PrivateAddress(ip))
    }
}

/// Names that never lead to the public internet: `localhost`, the cloud
/// metadata names (`metadata.google.internal`, `metadata`), and the
/// `.internal`, `.local`, `.localhost`, `.home.arpa` special-use domains.
pub fn is_internal_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    matches!(name.as_str(), "localhost" | "metadata" | "instance-data")
        || [
            ".localhost",
            ".internal",
            ".local",
            ".home.arpa",
            ".intranet",
            ".lan",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix))
        || !name.contains('.')
}

/// Whether `ip` is a globally routable unicast address a webhook may reach.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const REFUSED: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // carrier-grade NAT
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local, incl. 169.254.169.254 metadata
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
        ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, incl. 255.255.255.255 broadcast
    ];
    !REFUSED.iter().any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    // IPv4 embedded in IPv6: judged by the IPv4 address it carries.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if seg[..6] == [0, 0, 0, 0, 0, 0] {
        // ::/96, the deprecated IPv4-compatible form, and :: and ::1.
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        return !ip.is_unspecified() && !ip.is_loopback() && is_public_v4(v4);
    }
    if seg[0] == 0x64 && seg[1] == 0xff9b {
        // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48): the gateway
        // would connect to the embedded IPv4 address.
        let v4 = Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        );
        return seg[2] == 0 && is_public_v4(v4);
    }
    if seg[0] == 0x2002 {
        // 6to4: 2002:V4ADDR::/48.
        let v4 = Ipv4Addr::new(
            (seg[1] >> 8) as u8,
            seg[1] as u8,
            (seg[2] >> 8) as u8,
            seg[2] as u8,
        );
        return is_public_v4(v4);
    }
    let refused = ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (seg[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation 2001:db8::/32
        || (seg[0] == 0x3fff && seg[1] < 0x1000) // documentation 3fff::/20
        || (seg[0] == 0x2001 && seg[1] < 0x0200) // IETF protocol assignments, Teredo, benchmarking
        || (seg[0] == 0x0100 && seg[1..4] == [0, 0, 0]) // discard-only 100::/64
        || (seg[0] & 0xe000) != 0x2000; // outside global unicast 2000::/3
    !refused
}

/// Names that never resolve (RFC 6761 §6.4, `.invalid`): answered at once
/// as unresolvable, without asking DNS, as that RFC asks of resolvers (the
/// system resolver would send the query out all the same).
pub fn is_never_resolvable(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "invalid" || name.ends_with(".invalid")
}

/// How [`FilteringResolver`] turns a name into addresses: the system's
/// resolver in the service ([`SystemLookup`]); a unit test can give it
/// scripted answers, to play a name that rebinds.
pub trait Lookup: Send + Sync + 'static {
    /// The addresses of `host` (the port is not looked at).
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;
}

/// The system's resolver (`getaddrinfo`, through Tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(
        &self,
        host: String,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    }
}

/// A DNS resolver for the delivery client that refuses a name any of whose
/// addresses is non-public (unless private addresses are allowed), so a
/// name that rebinds to an internal address after the creation-time check
/// cannot be connected to. A refused name fails the attempt with an error
/// that says why ([`UrlRefusal`], in the error's causes).
#[derive(Clone)]
pub struct FilteringResolver {
    /// Whether non-public addresses are kept (`PORTAL_WEBHOOK_ALLOW_PRIVATE`).
    allow_private: bool,
    /// Where the addresses come from.
    lookup: Arc<dyn Lookup>,
}

impl std::fmt::Debug for FilteringResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilteringResolver")
            .field("allow_private", &self.allow_private)
            .finish_non_exhaustive()
    }
}

impl FilteringResolver {
    /// The service's resolver: the system's, filtered.
    pub fn system(allow_private: bool) -> Self {
        Self::with_lookup(allow_private, Arc::new(SystemLookup))
    }

    /// `lookup`'s answers, filtered.
    pub fn with_lookup(allow_private: bool, lookup: Arc<dyn Lookup>) -> Self {
        Self {
            allow_private,
            lookup,
        }
    }

    /// The addresses a connection to `host` may use, or why there are none.
    pub async fn addresses(&self, host: &str) -> Result<Vec<SocketAddr>, UrlRefusal> {
        if is_never_resolvable(host) {
            return Err(UrlRefusal::Unresolvable(host.to_owned()));
        }
        if !self.allow_private && is_internal_name(host) {
            return Err(UrlRefusal::InternalName(host.to_owned()));
        }
        let addrs = self
            .lookup
            .lookup(host.to_owned())
            .await
            .map_err(|_| UrlRefusal::Unresolvable(host.to_owned()))?;
        // Any refused address refuses the name, as at creation: a name
        // that answers public and private addresses by turns is rebinding,
        // and the client could be made to connect to either.
        if !self.allow_private
            && let Some(addr) = addrs.iter().find(|a| !is_public(a.ip()))
        {
            return Err(UrlRefusal::PrivateAddress(addr.ip()));
        }
        if addrs.is_empty() {
            return Err(UrlRefusal::Unresolvable(host.to_owned()));
        }
        Ok(addrs)
    }
}

impl reqwest::dns::Resolve for FilteringResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            match resolver.addresses(name.as_str()).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(refusal) => Err(Box::new(refusal) as _),
            }
        })
    }
}

/// Whether a connection to this literal IP address (a URL whose host is an
/// address: no resolver is asked for it) is allowed.
pub fn literal_allowed(url: &Url, allow_private: bool) -> Result<(), UrlRefusal> {
    if allow_private {
        return Ok(());
    }
    match url.host() {
        Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip)),
        Some(Host::Domain(_)) => Ok(()),
        None => Err(UrlRefusal::NoHost),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn public_addresses_are_allowed() {
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4009:81f::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(a)), "{a} should be public");
        }
    }

    #[test]
    fn private_and_reserved_addresses_are_refused() {
        for a in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456:789a::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "::ffff:0:0",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "fd00:ec2::254",
        ] {
            assert!(!is_public(ip(a)), "{a} should be refused");
        }
    }

    #[test]
    fn internal_names_are_refused() {
        for n in [
            "localhost",
            "LOCALHOST.",
            "api.localhost",
            "metadata.google.internal",
            "metadata",
            "printer.local",
            "router.home.arpa",
            "intranet",
        ] {
            assert!(is_internal_name(n), "{n}");
        }
        for n in ["example.com", "hooks.partner.co.uk", "internal.example.com"] {
            assert!(!is_internal_name(n), "{n}");
        }
    }

    const STRICT: UrlPolicy = UrlPolicy {
        allow_private: false,
        allow_http: false,
    };

    #[tokio::test]
    async fn endpoint_urls_are_checked() {
        let refused =
            |raw: &'static str| async move { check_endpoint_url(raw, &STRICT).await.unwrap_err() };
        assert!(matches!(refused("not a url").await, UrlRefusal::Invalid(_)));
        assert_eq!(
            refused("http://93.184.216.34/hook").await,
            UrlRefusal::Scheme
        );
        assert_eq!(
            refused("ftp://93.184.216.34/hook").await,
            UrlRefusal::Scheme
        );
        assert_eq!(
            refused("https://user:pw@93.184.216.34/hook").await,
            UrlRefusal::Credentials
        );
        assert_eq!(
            refused("https://127.0.0.1/hook").await,
            UrlRefusal::PrivateAddress(ip("127.0.0.1"))
        );
        assert_eq!(
            refused("https://[::ffff:169.254.169.254]/latest/meta-data").await,
            UrlRefusal::PrivateAddress(ip("::ffff:169.254.169.254"))
        );
        assert_eq!(
            refused("https://169.254.169.254/latest/meta-data").await,
            UrlRefusal::PrivateAddress(ip("169.254.169.254"))
        );
        assert_eq!(
            refused("https://2130706433/").await,
            UrlRefusal::PrivateAddress(ip("127.0.0.1")),
            "the URL parser reads a decimal host as an IPv4 address"
        );
        assert!(matches!(
            refused("https://metadata.google.internal/computeMetadata/v1/").await,
            UrlRefusal::InternalName(_)
        ));
        assert!(matches!(
            refused("https://localhost:8443/").await,
            UrlRefusal::InternalName(_)
        ));
        // A literal public address needs no DNS.
        let ok = check_endpoint_url("https://93.184.216.34/hook", &STRICT)
            .await
            .unwrap();
        assert_eq!(ok.host_str(), Some("93.184.216.34"));
    }

    #[tokio::test]
    async fn the_operator_can_allow_http_and_private_addresses() {
        let open = UrlPolicy {
            allow_private: true,
            allow_http: true,
        };
        check_endpoint_url("http://127.0.0.1:9000/hook", &open)
            .await
            .unwrap();
        check_endpoint_url("http://localhost:9000/hook", &open)
            .await
            .unwrap();
        // Credentials stay refused whatever the setting.
        assert_eq!(
            check_endpoint_url("http://a:b@127.0.0.1/", &open)
                .await
                .unwrap_err(),
            UrlRefusal::Credentials
        );
    }

    /// A scripted DNS: each name answers the addresses given, and every
    /// question is counted (to show which names were never asked).
    struct FakeDns {
        answers: HashMap<&'static str, Vec<&'static str>>,
        asked: std::sync::Mutex<Vec<String>>,
    }

    impl FakeDns {
        fn new(answers: &[(&'static str, &[&'static str])]) -> Arc<Self> {
            Arc::new(Self {
                answers: answers.iter().map(|(n, a)| (*n, a.to_vec())).collect(),
                asked: std::sync::Mutex::new(Vec::new()),
            })
        }
        fn asked(&self) -> Vec<String> {
            self.asked.lock().unwrap().clone()
        }
    }

    impl Lookup for FakeDns {
        fn lookup(
            &self,
            host: String,
        ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>> {
            self.asked.lock().unwrap().push(host.clone());
            let answer = self.answers.get(host.as_str()).map(|addrs| {
                addrs
                    .iter()
                    .map(|a| SocketAddr::new(a.parse().unwrap(), 0))
                    .collect()
            });
            Box::pin(async move {
                answer.ok_or_else(|| std::io::Error::other("no such name in the fake DNS"))
            })
        }
    }

    use std::collections::HashMap;

    #[tokio::test]
    async fn the_resolver_refuses_a_name_with_any_private_answer() {
        let dns = FakeDns::new(&[
            ("hooks.partner.example", &["93.184.215.14"]),
            ("rebound.partner.example", &["93.184.215.14", "127.0.0.1"]),
            ("metadata.partner.example", &["169.254.169.254"]),
            ("v6.partner.example", &["2606:4700:4700::1111", "fd00::1"]),
            ("empty.partner.example", &[]),
        ]);
        let strict = FilteringResolver::with_lookup(false, dns.clone());
        assert_eq!(
            strict.addresses("hooks.partner.example").await.unwrap(),
            [SocketAddr::new(ip("93.184.215.14"), 0)]
        );
        assert_eq!(
            strict
                .addresses("rebound.partner.example")
                .await
                .unwrap_err(),
            UrlRefusal::PrivateAddress(ip("127.0.0.1")),
            "one private answer beside a public one refuses the name"
        );
        assert_eq!(
            strict
                .addresses("metadata.partner.example")
                .await
                .unwrap_err(),
            UrlRefusal::PrivateAddress(ip("169.254.169.254"))
        );
        assert_eq!(
            strict.addresses("v6.partner.example").await.unwrap_err(),
            UrlRefusal::PrivateAddress(ip("fd00::1"))
        );
        assert_eq!(
            strict.addresses("empty.partner.example").await.unwrap_err(),
            UrlRefusal::Unresolvable("empty.partner.example".into())
        );
        assert_eq!(
            strict
                .addresses("unknown.partner.example")
                .await
                .unwrap_err(),
            UrlRefusal::Unresolvable("unknown.partner.example".into())
        );
        // Internal and `.invalid` names are refused without a question.
        assert!(matches!(
            strict.addresses("localhost").await.unwrap_err(),
            UrlRefusal::InternalName(_)
        ));
        assert_eq!(
            strict.addresses("hooks.partner.invalid").await.unwrap_err(),
            UrlRefusal::Unresolvable("hooks.partner.invalid".into())
        );
        assert_eq!(
            dns.asked(),
            [
                "hooks.partner.example",
                "rebound.partner.example",
                "metadata.partner.example",
                "v6.partner.example",
                "empty.partner.example",
                "unknown.partner.example",
            ]
        );

        // With the operator setting, private answers are kept; `.invalid`
        // still never resolves.
        let open = FilteringResolver::with_lookup(true, dns.clone());
        assert_eq!(
            open.addresses("rebound.partner.example")
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(open.addresses("hooks.partner.invalid").await.is_err());
        assert_eq!(dns.asked().len(), 7);
    }

    #[tokio::test]
    async fn the_resolver_answers_reqwest_with_the_refusal() {
        use reqwest::dns::Resolve as _;
        let dns = FakeDns::new(&[("rebound.partner.example", &["10.0.0.7"])]);
        let strict = FilteringResolver::with_lookup(false, dns);
        let name: reqwest::dns::Name = "rebound.partner.example".parse().unwrap();
        let Err(error) = strict.resolve(name).await else {
            panic!("resolved a private address");
        };
        assert_eq!(
            error.downcast_ref::<UrlRefusal>(),
            Some(&UrlRefusal::PrivateAddress(ip("10.0.0.7")))
        );
        // The system resolver, with the setting: localhost is loopback.
        let open = FilteringResolver::system(true);
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let addrs: Vec<_> = open.resolve(name).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }

    #[tokio::test]
    async fn invalid_names_are_refused_at_creation_without_a_query() {
        assert_eq!(
            check_endpoint_url("https://hooks.partner.invalid/hook", &STRICT)
                .await
                .unwrap_err(),
            UrlRefusal::Unresolvable("hooks.partner.invalid".into())
        );
        assert!(is_never_resolvable("HOOKS.Partner.INVALID."));
        assert!(!is_never_resolvable("invalid.example.com"));
    }
}
