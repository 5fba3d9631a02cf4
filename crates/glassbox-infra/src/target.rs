//! Scrape targets: their kind, their URL checked once, and the `--scrape KIND=URL` flag.

use std::time::Duration;

use http::Uri;
use serde::{Deserialize, Serialize};

use crate::config::{ScrapeDefaults, TargetConfig};

/// The software behind a metrics URL, which decides how its names map to canonical ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// vLLM's `/metrics`.
    Vllm,
    /// Hugging Face Text Generation Inference.
    Tgi,
    /// llama.cpp's `llama-server --metrics`.
    Llamacpp,
    /// NVIDIA Triton Inference Server.
    Triton,
    /// SGLang with `--enable-metrics`.
    Sglang,
    /// NVIDIA DCGM exporter.
    Dcgm,
    /// Any other Prometheus exporter: its metrics are kept under their own names.
    Prometheus,
}

/// Every kind, in the order help texts list them.
pub const KINDS: [TargetKind; 7] = [
    TargetKind::Vllm,
    TargetKind::Tgi,
    TargetKind::Llamacpp,
    TargetKind::Triton,
    TargetKind::Sglang,
    TargetKind::Dcgm,
    TargetKind::Prometheus,
];

impl TargetKind {
    /// Returns the configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Vllm => "vllm",
            TargetKind::Tgi => "tgi",
            TargetKind::Llamacpp => "llamacpp",
            TargetKind::Triton => "triton",
            TargetKind::Sglang => "sglang",
            TargetKind::Dcgm => "dcgm",
            TargetKind::Prometheus => "prometheus",
        }
    }

    /// Parses a configuration name.
    pub fn parse(text: &str) -> Option<TargetKind> {
        KINDS.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Returns the mapping of the metric names of this kind.
    pub fn server_kind(self) -> glassbox_prometheus::ServerKind {
        match self {
            TargetKind::Vllm => glassbox_prometheus::ServerKind::Vllm,
            TargetKind::Tgi => glassbox_prometheus::ServerKind::Tgi,
            TargetKind::Llamacpp => glassbox_prometheus::ServerKind::LlamaCpp,
            TargetKind::Triton => glassbox_prometheus::ServerKind::Triton,
            TargetKind::Sglang => glassbox_prometheus::ServerKind::Sglang,
            TargetKind::Dcgm => glassbox_prometheus::ServerKind::Dcgm,
            TargetKind::Prometheus => glassbox_prometheus::ServerKind::Prometheus,
        }
    }

    /// Returns true for inference servers, whose calls appear as spans.
    pub fn serves_models(self) -> bool {
        !matches!(self, TargetKind::Dcgm | TargetKind::Prometheus)
    }
}

/// A target with every setting resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The name shown and put on its points as `target`.
    pub name: String,
    /// The kind.
    pub kind: TargetKind,
    /// The metrics URL.
    pub url: Uri,
    /// Time between scrapes.
    pub interval: Duration,
    /// Time a scrape may take.
    pub timeout: Duration,
    /// Models served, as spans name them.
    pub models: Vec<String>,
    /// Price of one GPU-hour.
    pub gpu_hour_usd: Option<f64>,
    /// GPUs used.
    pub gpus: u32,
    /// The `Authorization` header built from the URL's user name and password, if any.
    pub authorization: Option<String>,
}

impl Target {
    /// Checks a configured target and fills in the defaults.
    pub fn resolve(config: &TargetConfig, defaults: &ScrapeDefaults) -> Result<Target, String> {
        let (url, authorization) = parse_url(&config.url)?;

        // The default name leaves out any user name and password of the URL.
        let name = config.name.clone().unwrap_or_else(|| {
            let host = url.host().unwrap_or_default();
            let port = url
                .port()
                .map(|port| format!(":{port}"))
                .unwrap_or_default();
            format!("{}@{host}{port}", config.kind.as_str())
        });
        if name.trim().is_empty() {
            return Err(format!(
                "the scrape target {:?} has an empty name",
                redacted(&config.url)
            ));
        }

        let seconds = |value: Option<u64>, default: u64, field: &str| {
            let value = value.unwrap_or(default);
            if value == 0 {
                return Err(format!(
                    "{field} of scrape target {name:?} must be at least 1"
                ));
            }
            Ok(Duration::from_secs(value))
        };
        let interval = seconds(
            config.interval_secs,
            defaults.interval_secs,
            "interval_secs",
        )?;
        let timeout = seconds(config.timeout_secs, defaults.timeout_secs, "timeout_secs")?;

        if let Some(price) = config.gpu_hour_usd
            && !(price.is_finite() && price >= 0.0)
        {
            return Err(format!(
                "gpu_hour_usd of scrape target {name:?} must be a non-negative number, not {price}"
            ));
        }
        let gpus = config.gpus.unwrap_or(1);
        if gpus == 0 {
            return Err(format!("gpus of scrape target {name:?} must be at least 1"));
        }

        Ok(Target {
            authorization,
            name,
            kind: config.kind,
            url,
            interval,
            timeout: timeout.min(interval),
            models: config.models.clone(),
            gpu_hour_usd: config.gpu_hour_usd,
            gpus,
        })
    }
}

/// Parses a scrape URL. A user name and password in it become HTTP basic authentication and
/// are removed from the URL that is requested.
fn parse_url(text: &str) -> Result<(Uri, Option<String>), String> {
    use base64::Engine;

    let url: Uri = text
        .parse()
        .map_err(|error| format!("invalid scrape URL {:?}: {error}", redacted(text)))?;
    let (Some(scheme @ ("http" | "https")), Some(authority)) = (url.scheme_str(), url.authority())
    else {
        return Err(format!(
            "invalid scrape URL {:?}: use http:// or https:// with a host, such as http://127.0.0.1:8000/metrics",
            redacted(text)
        ));
    };
    let Some((userinfo, host)) = authority.as_str().rsplit_once('@') else {
        return Ok((url, None));
    };

    let encoded = base64::engine::general_purpose::STANDARD.encode(userinfo);
    let path = url.path_and_query().map_or("/", |path| path.as_str());
    let without: Uri = format!("{scheme}://{host}{path}")
        .parse()
        .map_err(|error| format!("invalid scrape URL {:?}: {error}", redacted(text)))?;
    Ok((without, Some(format!("Basic {encoded}"))))
}

/// Hides the user name and password of a URL, for messages.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Parses the `--scrape KIND=URL` flag into a target with default settings.
pub fn parse_flag(text: &str) -> Result<TargetConfig, String> {
    let names: Vec<&str> = KINDS.iter().map(|kind| kind.as_str()).collect();
    let Some((kind, url)) = text.split_once('=') else {
        return Err(format!(
            "invalid --scrape {:?}: expected KIND=URL with KIND one of {}",
            redacted(text),
            names.join(", ")
        ));
    };
    let kind = TargetKind::parse(kind.trim()).ok_or_else(|| {
        format!(
            "invalid --scrape: unknown kind {kind:?}, expected one of {}",
            names.join(", ")
        )
    })?;
    Ok(TargetConfig {
        name: None,
        kind,
        url: url.trim().to_owned(),
        interval_secs: None,
        timeout_secs: None,
        models: Vec::new(),
        gpu_hour_usd: None,
        gpus: None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn flag_gives_a_named_target() {
        let config = parse_flag("vllm=http://127.0.0.1:8000/metrics").unwrap();
        let target = Target::resolve(&config, &ScrapeDefaults::default()).unwrap();
        assert_eq!(target.name, "vllm@127.0.0.1:8000");
        assert_eq!(target.interval, Duration::from_secs(15));
        assert_eq!(target.gpus, 1);
    }

    #[test]
    fn default_names_leave_out_credentials() {
        let config = parse_flag("vllm=http://user:secret@127.0.0.1:8000/metrics").unwrap();
        let target = Target::resolve(&config, &ScrapeDefaults::default()).unwrap();
        assert_eq!(target.name, "vllm@127.0.0.1:8000");
        assert_eq!(
            target.authorization.as_deref(),
            Some("Basic dXNlcjpzZWNyZXQ=")
        );
        let broken = parse_flag("vllm=ftp://user:secret@127.0.0.1/metrics").unwrap();
        let error = Target::resolve(&broken, &ScrapeDefaults::default()).unwrap_err();
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn bad_flags_name_the_problem() {
        assert!(parse_flag("http://x").unwrap_err().contains("KIND=URL"));
        assert!(
            parse_flag("ollama=http://x")
                .unwrap_err()
                .contains("unknown kind \"ollama\"")
        );
        let config = parse_flag("tgi=ftp://127.0.0.1/metrics").unwrap();
        let error = Target::resolve(&config, &ScrapeDefaults::default()).unwrap_err();
        assert!(error.contains("http://"), "{error}");
    }

    #[test]
    fn invalid_settings_are_rejected() {
        let mut config = parse_flag("dcgm=http://127.0.0.1:9400/metrics").unwrap();
        config.gpu_hour_usd = Some(-1.0);
        assert!(Target::resolve(&config, &ScrapeDefaults::default()).is_err());
        config.gpu_hour_usd = Some(2.5);
        config.interval_secs = Some(0);
        assert!(Target::resolve(&config, &ScrapeDefaults::default()).is_err());
    }
}
