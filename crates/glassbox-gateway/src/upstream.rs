//! Upstreams and the choice of one for a request.
//!
//! A request reaches an upstream of its own dialect only, chosen from the configuration and
//! never from a URL the client sends, so the gateway is not an open proxy. The choice, first
//! match wins:
//! 1. the `x-glassbox-upstream: NAME` header;
//! 2. a `NAME/model` prefix naming a configured upstream, removed before forwarding (the
//!    built-in names `openai` and `anthropic` are not prefixes, since model ids such as
//!    `openai/gpt-oss-120b` are real names that servers like vLLM expect unchanged);
//! 3. the first upstream whose model patterns match (configured ones, then the built-ins).
//!
//! An upstream with model patterns serves only those models, whichever way it was chosen, so
//! the patterns also restrict what a key set with `api_key_env` can be spent on.

use std::fmt;
use std::sync::Arc;

use crate::config::{BuiltinUpstream, Dialect, GatewayConfig, UpstreamConfig, check_base_url};

/// The default base URL of the built-in `openai` upstream.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The default base URL of the built-in `anthropic` upstream.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";

/// A credential that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// Returns the credential, to put in an outgoing header or to scrub it from text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([hidden])")
    }
}

/// An upstream ready to receive requests.
#[derive(Debug)]
pub struct Upstream {
    /// The unique name.
    pub name: String,
    /// The API it speaks.
    pub dialect: Dialect,
    /// The base URL without a trailing slash.
    pub base_url: String,
    /// The host and port, recorded as `server.address`.
    pub host: String,
    /// The provider name recorded on spans.
    pub provider: String,
    /// The key sent instead of the client's, when configured.
    pub api_key: Option<Secret>,
    /// Whether OpenAI-style streams are asked for their usage.
    pub stream_usage: bool,
    patterns: Vec<String>,
    builtin: bool,
}

impl Upstream {
    /// Returns true when the upstream may receive `model` once chosen by name: it has no
    /// patterns, or one of them matches.
    pub fn allows(&self, model: &str) -> bool {
        self.patterns.is_empty() || self.serves(model)
    }

    /// Returns true when one of the model patterns matches `model`.
    pub fn serves(&self, model: &str) -> bool {
        self.patterns
            .iter()
            .any(|pattern| glob_match(pattern, model))
    }

    /// Returns the URL of an endpoint: `path` is the request path, such as
    /// `/v1/chat/completions`. OpenAI-style base URLs already end in `/v1`.
    pub fn url(&self, path: &str, query: Option<&str>) -> String {
        let path = match self.dialect {
            Dialect::Openai => path.strip_prefix("/v1").unwrap_or(path),
            Dialect::Anthropic => path,
        };
        match query {
            Some(query) => format!("{}{path}?{query}", self.base_url),
            None => format!("{}{path}", self.base_url),
        }
    }
}

/// The reason no upstream was chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The header names an upstream that does not exist.
    #[error("no upstream is named {0:?}; check the x-glassbox-upstream header")]
    UnknownUpstream(String),
    /// The header names an upstream of the other dialect.
    #[error("upstream {name:?} speaks the {dialect} API, which has no {path}")]
    WrongDialect {
        /// The upstream's name.
        name: String,
        /// The upstream's dialect.
        dialect: &'static str,
        /// The requested path.
        path: String,
    },
    /// The upstream chosen by name does not serve the model.
    #[error(
        "upstream {upstream:?} does not serve model {model:?}; its models setting lists the ones it serves"
    )]
    NotServed {
        /// The upstream's name.
        upstream: String,
        /// The model requested.
        model: String,
    },
    /// No pattern matches the model.
    #[error(
        "no upstream serves model {0:?}; add its name to an upstream's models in the gateway configuration"
    )]
    NoUpstream(String),
}

/// The chosen upstream and the model name to send it.
#[derive(Debug, Clone)]
pub struct Route {
    /// The upstream.
    pub upstream: Arc<Upstream>,
    /// The model name without the upstream prefix, when the prefix was used.
    pub stripped_model: Option<String>,
}

/// Every upstream, in the order they are tried.
#[derive(Debug, Clone)]
pub struct Upstreams {
    all: Vec<Arc<Upstream>>,
}

/// Base URLs of the two built-in upstreams.
#[derive(Debug, Clone)]
pub struct BaseUrls {
    /// The `openai` upstream's.
    pub openai: String,
    /// The `anthropic` upstream's.
    pub anthropic: String,
}

impl Default for BaseUrls {
    fn default() -> Self {
        BaseUrls {
            openai: OPENAI_BASE_URL.to_owned(),
            anthropic: ANTHROPIC_BASE_URL.to_owned(),
        }
    }
}

impl Upstreams {
    /// Resolves the configuration: reads key variables and checks the URLs.
    pub fn from_config(config: &GatewayConfig, base_urls: &BaseUrls) -> Result<Upstreams, String> {
        let mut all = Vec::with_capacity(config.upstreams.len() + 2);
        for entry in &config.upstreams {
            all.push(Arc::new(configured(entry)?));
        }
        all.push(Arc::new(builtin(
            "openai",
            Dialect::Openai,
            &base_urls.openai,
            &config.openai,
        )?));
        all.push(Arc::new(builtin(
            "anthropic",
            Dialect::Anthropic,
            &base_urls.anthropic,
            &config.anthropic,
        )?));
        Ok(Upstreams { all })
    }

    /// Chooses the upstream for a request of `dialect` to `path`.
    pub fn route(
        &self,
        dialect: Dialect,
        path: &str,
        header: Option<&str>,
        model: Option<&str>,
    ) -> Result<Route, RouteError> {
        if let Some(name) = header {
            let upstream = self
                .by_name(name)
                .ok_or_else(|| RouteError::UnknownUpstream(name.to_owned()))?;
            let route = same_dialect(upstream, dialect, path).map(|upstream| Route {
                stripped_model: None,
                upstream,
            })?;
            return check_allowed(route, model);
        }
        let Some(model) = model else {
            return self.default_for(dialect);
        };
        if let Some(route) = self.by_prefix(dialect, model) {
            let stripped = route.stripped_model.clone();
            return check_allowed(route, stripped.as_deref());
        }
        self.of_dialect(dialect)
            .find(|upstream| upstream.serves(model))
            .map(|upstream| Route {
                upstream: Arc::clone(upstream),
                stripped_model: None,
            })
            .ok_or_else(|| RouteError::NoUpstream(model.to_owned()))
    }

    /// Returns every upstream, in the order they are tried.
    pub fn all(&self) -> &[Arc<Upstream>] {
        &self.all
    }

    pub(crate) fn by_name(&self, name: &str) -> Option<&Arc<Upstream>> {
        self.all.iter().find(|upstream| upstream.name == name)
    }

    fn by_prefix(&self, dialect: Dialect, model: &str) -> Option<Route> {
        let (prefix, rest) = model.split_once('/')?;
        let upstream = self
            .of_dialect(dialect)
            .find(|upstream| !upstream.builtin && upstream.name == prefix)?;
        Some(Route {
            upstream: Arc::clone(upstream),
            stripped_model: Some(rest.to_owned()),
        })
    }

    /// Returns the built-in upstream of a dialect, which serves requests that name no model.
    fn default_for(&self, dialect: Dialect) -> Result<Route, RouteError> {
        let name = dialect.as_str();
        let upstream = self
            .by_name(name)
            .ok_or_else(|| RouteError::UnknownUpstream(name.to_owned()))?;
        Ok(Route {
            upstream: Arc::clone(upstream),
            stripped_model: None,
        })
    }

    fn of_dialect(&self, dialect: Dialect) -> impl Iterator<Item = &Arc<Upstream>> {
        self.all
            .iter()
            .filter(move |upstream| upstream.dialect == dialect)
    }
}

fn check_allowed(route: Route, model: Option<&str>) -> Result<Route, RouteError> {
    match model {
        Some(model) if !route.upstream.allows(model) => Err(RouteError::NotServed {
            upstream: route.upstream.name.clone(),
            model: model.to_owned(),
        }),
        _ => Ok(route),
    }
}

fn same_dialect(
    upstream: &Arc<Upstream>,
    dialect: Dialect,
    path: &str,
) -> Result<Arc<Upstream>, RouteError> {
    if upstream.dialect == dialect {
        return Ok(Arc::clone(upstream));
    }
    Err(RouteError::WrongDialect {
        name: upstream.name.clone(),
        dialect: upstream.dialect.as_str(),
        path: path.to_owned(),
    })
}

fn configured(entry: &UpstreamConfig) -> Result<Upstream, String> {
    let key_label = format!("gateway.upstreams {:?}", entry.name);
    Ok(Upstream {
        name: entry.name.clone(),
        dialect: entry.dialect,
        base_url: base_url(&entry.base_url)?,
        host: host_of(&entry.base_url),
        provider: entry.provider.clone().unwrap_or_else(|| entry.name.clone()),
        api_key: api_key(entry.api_key_env.as_deref(), &key_label)?,
        stream_usage: entry.stream_usage,
        patterns: entry.models.clone(),
        builtin: false,
    })
}

fn builtin(
    name: &str,
    dialect: Dialect,
    url: &str,
    settings: &BuiltinUpstream,
) -> Result<Upstream, String> {
    let base = base_url(url).map_err(|error| format!("{name}_base_url: {error}"))?;
    Ok(Upstream {
        name: name.to_owned(),
        dialect,
        host: host_of(&base),
        base_url: base,
        provider: name.to_owned(),
        api_key: api_key(settings.api_key_env.as_deref(), &format!("gateway.{name}"))?,
        stream_usage: true,
        patterns: settings.models.clone(),
        builtin: true,
    })
}

fn base_url(url: &str) -> Result<String, String> {
    check_base_url(url)?;
    Ok(url.trim_end_matches('/').to_owned())
}

fn host_of(url: &str) -> String {
    url.parse::<http::Uri>()
        .ok()
        .and_then(|parsed| {
            parsed
                .authority()
                .map(|authority| authority.as_str().to_owned())
        })
        .map(|authority| {
            // Credentials in a URL are not recorded.
            authority
                .rsplit_once('@')
                .map_or(authority.clone(), |(_, host)| host.to_owned())
        })
        .unwrap_or_default()
}

fn api_key(variable: Option<&str>, label: &str) -> Result<Option<Secret>, String> {
    let Some(variable) = variable else {
        return Ok(None);
    };
    match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => Ok(Some(Secret::new(value.trim()))),
        _ => Err(format!(
            "{label}: api_key_env names {variable}, which is not set or empty"
        )),
    }
}

/// Matches `text` against a pattern where `*` stands for any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstreams(extra: Vec<UpstreamConfig>, openai_models: &[&str]) -> Upstreams {
        let mut config = GatewayConfig {
            upstreams: extra,
            ..GatewayConfig::default()
        };
        config.openai.models = openai_models.iter().map(|m| (*m).to_owned()).collect();
        let urls = BaseUrls {
            openai: "http://127.0.0.1:1/v1/".to_owned(),
            anthropic: "http://127.0.0.1:2".to_owned(),
        };
        Upstreams::from_config(&config, &urls).unwrap()
    }

    fn vllm() -> UpstreamConfig {
        UpstreamConfig {
            name: "vllm".to_owned(),
            dialect: Dialect::Openai,
            base_url: "http://127.0.0.1:8000/v1".to_owned(),
            provider: None,
            models: vec!["meta-llama/*".to_owned()],
            api_key_env: None,
            stream_usage: true,
        }
    }

    #[test]
    fn glob_patterns() {
        assert!(glob_match("*", "anything"));
        assert!(glob_match("gpt-*", "gpt-4o"));
        assert!(!glob_match("gpt-*", "o3-mini"));
        assert!(glob_match("claude-*-sonnet*", "claude-3-5-sonnet-20241022"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(glob_match("a*a", "aa"));
        assert!(!glob_match("a*a", "a"));
    }

    #[test]
    fn configured_upstreams_come_first() {
        let upstreams = upstreams(vec![vllm()], &["*"]);
        let route = upstreams
            .route(
                Dialect::Openai,
                "/v1/chat/completions",
                None,
                Some("meta-llama/Llama-3.1-8B"),
            )
            .unwrap();
        assert_eq!(route.upstream.name, "vllm");
        assert_eq!(route.stripped_model, None);
        let route = upstreams
            .route(
                Dialect::Openai,
                "/v1/chat/completions",
                None,
                Some("gpt-4o"),
            )
            .unwrap();
        assert_eq!(route.upstream.name, "openai");
    }

    #[test]
    fn prefix_chooses_and_is_stripped() {
        let upstreams = upstreams(vec![vllm()], &["gpt-*"]);
        let route = upstreams
            .route(
                Dialect::Openai,
                "/v1/chat/completions",
                None,
                Some("vllm/meta-llama/Llama-3.1-8B"),
            )
            .unwrap();
        assert_eq!(route.upstream.name, "vllm");
        assert_eq!(
            route.stripped_model.as_deref(),
            Some("meta-llama/Llama-3.1-8B")
        );
    }

    #[test]
    fn builtin_names_are_not_prefixes() {
        let upstreams = upstreams(Vec::new(), &["*"]);
        let model = Some("openai/gpt-oss-120b");
        let route = upstreams
            .route(Dialect::Openai, "/v1/chat/completions", None, model)
            .unwrap();
        assert_eq!(route.upstream.name, "openai");
        assert_eq!(route.stripped_model, None);
    }

    #[test]
    fn patterns_restrict_header_and_prefix() {
        let upstreams = upstreams(vec![vllm()], &["gpt-*"]);
        let path = "/v1/chat/completions";
        let error = upstreams
            .route(Dialect::Openai, path, Some("openai"), Some("o3-mini"))
            .unwrap_err();
        assert!(matches!(error, RouteError::NotServed { .. }), "{error}");
        let error = upstreams
            .route(Dialect::Openai, path, None, Some("vllm/qwen3"))
            .unwrap_err();
        assert!(matches!(error, RouteError::NotServed { .. }), "{error}");
    }

    #[test]
    fn header_chooses_and_dialect_must_match() {
        let upstreams = upstreams(vec![vllm()], &["*"]);
        let route = upstreams
            .route(
                Dialect::Openai,
                "/v1/embeddings",
                Some("vllm"),
                Some("meta-llama/Llama-3.1-8B"),
            )
            .unwrap();
        assert_eq!(route.upstream.name, "vllm");
        let error = upstreams
            .route(
                Dialect::Openai,
                "/v1/chat/completions",
                Some("anthropic"),
                None,
            )
            .unwrap_err();
        assert!(matches!(error, RouteError::WrongDialect { .. }), "{error}");
        let error = upstreams
            .route(Dialect::Openai, "/v1/chat/completions", Some("nope"), None)
            .unwrap_err();
        assert_eq!(error, RouteError::UnknownUpstream("nope".to_owned()));
    }

    #[test]
    fn unmatched_model_is_an_error() {
        let upstreams = upstreams(Vec::new(), &["gpt-*"]);
        let error = upstreams
            .route(
                Dialect::Openai,
                "/v1/chat/completions",
                None,
                Some("mystery-1"),
            )
            .unwrap_err();
        assert_eq!(error, RouteError::NoUpstream("mystery-1".to_owned()));
    }

    #[test]
    fn urls_follow_each_sdk_form() {
        let upstreams = upstreams(Vec::new(), &["*"]);
        let openai = &upstreams.all()[0];
        assert_eq!(
            openai.url("/v1/chat/completions", None),
            "http://127.0.0.1:1/v1/chat/completions"
        );
        let anthropic = &upstreams.all()[1];
        assert_eq!(
            anthropic.url("/v1/messages", Some("beta=true")),
            "http://127.0.0.1:2/v1/messages?beta=true"
        );
        assert_eq!(openai.host, "127.0.0.1:1");
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("sk-live-123");
        assert!(!format!("{secret:?}").contains("sk-live"));
    }
}
