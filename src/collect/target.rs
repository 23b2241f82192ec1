//! Where to collect from: `https://SUB.freshdesk.com`, or a `--base-url`
//! that is https, or plain http only on a loopback host.

use reqwest::Url;

#[derive(Clone, Debug)]
pub struct Target {
    pub domain: String,
    pub base_url: Url,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(
        "--domain `{0}` is not a Freshdesk subdomain (letters, digits and inner hyphens, 1-63 characters, e.g. `acme` for acme.freshdesk.com)"
    )]
    Domain(String),
    #[error("--domain is required (the Freshdesk subdomain, `acme` for acme.freshdesk.com)")]
    Missing,
    #[error("--base-url `{0}` is not a URL")]
    Url(String),
    #[error("--base-url `{0}`: plain http is refused except on a loopback host; use https")]
    Insecure(String),
}

impl Target {
    pub fn new(domain: &str, base_url: Option<&str>) -> Result<Target, TargetError> {
        let domain = domain.trim().to_ascii_lowercase();
        let domain = domain
            .strip_suffix(".freshdesk.com")
            .unwrap_or(&domain)
            .to_owned();
        if !valid_label(&domain) {
            return Err(TargetError::Domain(domain));
        }
        let raw = base_url.map_or_else(|| format!("https://{domain}.freshdesk.com/"), str::to_owned);
        let mut url = Url::parse(&raw).map_err(|_| TargetError::Url(raw.clone()))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => return Err(TargetError::Insecure(raw)),
            _ => return Err(TargetError::Url(raw)),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::Url("a URL with credentials in it".to_owned()));
        }
        url.set_path("/");
        url.set_query(None);
        Ok(Target {
            domain,
            base_url: url,
        })
    }
}

fn valid_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `localhost` or a loopback address: where plain http stays on this machine.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_and_scheme_rules() {
        let ok = [
            ("acme", None, "https://acme.freshdesk.com/"),
            ("Acme.freshdesk.com", None, "https://acme.freshdesk.com/"),
            ("acme", Some("http://127.0.0.1:8080"), "http://127.0.0.1:8080/"),
            ("acme", Some("http://localhost:9"), "http://localhost:9/"),
            ("acme", Some("http://[::1]:9/api"), "http://[::1]:9/"),
            (
                "acme",
                Some("https://proxy.example.com"),
                "https://proxy.example.com/",
            ),
        ];
        for (domain, base, want) in ok {
            assert_eq!(Target::new(domain, base).expect(domain).base_url.as_str(), want);
        }
        let bad = [
            ("-acme", None),
            ("ac me", None),
            ("acme.evil.com", None),
            ("acme", Some("http://10.0.0.1")),
            ("acme", Some("http://example.com")),
            ("acme", Some("ftp://127.0.0.1")),
            ("acme", Some("https://user:pw@example.com")),
        ];
        for (domain, base) in bad {
            assert!(Target::new(domain, base).is_err(), "{domain} {base:?}");
        }
    }
}
