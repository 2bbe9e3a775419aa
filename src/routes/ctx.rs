//! What every handler may use: the settings, the counter, the metrics, and
//! where links should point.

use crate::decide::clients::Clients;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::counter::Counter;
use crate::decide::Decider;
use crate::http::Req;
use crate::metrics::Metrics;
use crate::render::page;
use crate::settings::ServeConfig;

/// The top-sites table and when it was computed.
/// The top sites and top pages, and when they were read.
pub type TopSites = (Instant, Vec<(String, u64)>, Vec<(String, u64)>);

/// Shared state of the routes.
pub struct Ctx {
    pub cfg: ServeConfig,
    pub counter: Arc<Counter>,
    pub metrics: Arc<Metrics>,
    /// The actual bound address, the last-resort origin for snippets.
    pub bound: String,
    /// Answering one CGI request (the web server vouches for `HTTPS`).
    pub cgi: bool,
    pub top: Mutex<Option<TopSites>>,
    /// Who counts (bots, repeats); holds today's visitor table.
    pub decider: Decider,
    /// Per-client hit and new-counter budgets.
    pub clients: Clients,
    /// Counters in the database, as far as this server knows (set at start,
    /// raised by each counter it creates), for `--max-counters`.
    pub counters: AtomicU64,
    /// `--max-counters` was reached (logged once; `/healthz` says so).
    pub counters_full: AtomicBool,
    /// The `--trust-proxy` hint was logged.
    pub proxy_hinted: AtomicBool,
}

impl Ctx {
    pub fn new(cfg: ServeConfig, counter: Arc<Counter>, metrics: Arc<Metrics>, bound: String) -> Ctx {
        let decider = Decider::new(cfg.policy.clone());
        let clients = Clients::new(cfg.clients.rate, cfg.clients.new_per_hour, cfg.clients.ipv6_prefix);
        Ctx {
            cfg,
            counter,
            metrics,
            bound,
            cgi: false,
            top: Mutex::new(None),
            decider,
            clients,
            counters: AtomicU64::new(0),
            counters_full: AtomicBool::new(false),
            proxy_hinted: AtomicBool::new(false),
        }
    }

    /// The scheme the client used as the proxy reports it. `X-Forwarded-Proto`
    /// is believed with `--trust-proxy`, and with `ENABLE_SSL`, whose whole
    /// meaning is "behind a TLS proxy" (a forged value can at worst cause a
    /// redirect to https). CGI requests carry it from the web server.
    pub fn forwarded_proto<'a>(&self, req: &'a Req) -> Option<&'a str> {
        let believed = self.cfg.trust_proxy || self.cfg.enable_ssl || self.cgi;
        req.forwarded_proto.as_deref().filter(|_| believed)
    }

    /// Once: a limit per client refused a loopback or private address
    /// while proxy headers are not believed, so the client is probably a
    /// reverse proxy that every visitor shares.
    pub fn proxy_hint(&self, client: IpAddr) {
        let shared = match client.to_canonical() {
            IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
            IpAddr::V6(v6) => v6.is_loopback(),
        };
        if shared && !self.cfg.trust_proxy && !self.proxy_hinted.swap(true, std::sync::atomic::Ordering::Relaxed) {
            crate::logging::info(&format!(
                "warning: a limit per client refused {client}, probably a reverse proxy shared by every visitor: pass --trust-proxy behind a proxy"
            ));
        }
    }

    /// Whether the private views may be shown: not `--private`, or the
    /// request carries the token (`Authorization: Bearer` or `token=`).
    pub fn may_see_private(&self, req: &Req) -> bool {
        if !self.cfg.private {
            return true;
        }
        let Some(token) = &self.cfg.stats_token else { return false };
        let bearer = req.authorization.as_deref().and_then(|a| a.strip_prefix("Bearer ")).map(str::trim);
        let query = crate::http::param(&req.query, "token");
        let query = query.and_then(|t| crate::target::decode_param(t).ok());
        bearer.is_some_and(|b| token.matches(b)) || query.is_some_and(|q| token.matches(&q))
    }

    /// The client's address: the socket peer, or with `--trust-proxy` what
    /// the proxy says: `X-Real-IP`, which a proxy sets (replacing what the
    /// client sent), else the last `X-Forwarded-For` entry, which the proxy
    /// appended. A value that is not an address is not believed. A peer
    /// that is none (a CGI server's odd `REMOTE_ADDR`) is the unspecified
    /// address, one client for all of them.
    pub fn client(&self, req: &Req) -> IpAddr {
        let forwarded = || {
            let real_ip = req.real_ip.as_deref().and_then(parse_address);
            real_ip.or_else(|| req.forwarded_for.as_deref().and_then(|f| f.rsplit(',').next()).and_then(parse_address))
        };
        let proxied = if self.cfg.trust_proxy { forwarded() } else { None };
        proxied.or_else(|| parse_address(&req.peer)).unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED))
    }

    /// Whether the client talks https to us (or to the proxy in front).
    pub fn is_https(&self, req: &Req) -> bool {
        self.cfg.enable_ssl
            || self.cfg.tls.is_some()
            || self.forwarded_proto(req).is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }

    /// The origin generated links should use.
    pub fn origin(&self, req: &Req) -> String {
        let https = self.is_https(req);
        let forwarded_host = req.forwarded_host.as_deref().filter(|_| self.cfg.trust_proxy);
        let host = forwarded_host.or(req.host.as_deref());
        let origin = page::origin(self.cfg.public_url.as_deref(), https, host, &self.bound);
        if self.cfg.public_url.is_some() {
            origin
        } else {
            format!("{origin}{}", req.base_path)
        }
    }
}

/// An address as a proxy or a web server writes it: `192.0.2.1`,
/// `2001:db8::1`, or either with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse().ok().or_else(|| text.parse::<SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::parse_address;

    #[test]
    fn addresses_with_or_without_a_port() {
        for (text, want) in [
            ("192.0.2.1", "192.0.2.1"),
            (" 192.0.2.1:4711 ", "192.0.2.1"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]:4711", "2001:db8::1"),
        ] {
            assert_eq!(parse_address(text), Some(want.parse().unwrap()), "{text}");
        }
        for bad in ["", "unknown", "192.0.2", "_hidden", "2001:db8::1%eth0x"] {
            assert_eq!(parse_address(bad), None, "{bad}");
        }
    }
}
