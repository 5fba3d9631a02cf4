//! Configuration: defaults, then a TOML file, then `GLASSBOX_*` environment variables, then
//! command-line flags, each overriding the one before.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Default address of the API (and later the UI and gateway): loopback, port 7317, which
/// none of vLLM, llama.cpp, Ollama, LiteLLM, Langfuse or Phoenix use by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7317";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory of the database and other state. Default `./glassbox-data`;
    /// variable `GLASSBOX_DATA_DIR`.
    pub data_dir: PathBuf,
    /// Address of the API, which also accepts OTLP/HTTP. Default `127.0.0.1:7317`;
    /// variable `GLASSBOX_LISTEN`.
    pub listen: String,
    /// Address of the OTLP/HTTP receiver, or `off`. Default `127.0.0.1:4318`;
    /// variable `GLASSBOX_OTLP_HTTP_LISTEN`.
    pub otlp_http_listen: String,
    /// Address of the OTLP/gRPC receiver, or `off`. Default `127.0.0.1:4317`;
    /// variable `GLASSBOX_OTLP_GRPC_LISTEN`.
    pub otlp_grpc_listen: String,
    /// Ingest limits.
    pub ingest: IngestConfig,
    /// SQLite store settings.
    pub sqlite: SqliteConfig,
    /// Prices.
    pub pricing: PricingConfig,
    /// Base URL of the gateway's built-in `openai` upstream, in the form OpenAI's SDK takes
    /// (ending in `/v1`); any OpenAI-compatible server works. Default
    /// `https://api.openai.com/v1`; variable `GLASSBOX_OPENAI_BASE_URL`.
    pub openai_base_url: String,
    /// Base URL of the gateway's built-in `anthropic` upstream, in the form Anthropic's SDK
    /// takes (without `/v1`). Default `https://api.anthropic.com`;
    /// variable `GLASSBOX_ANTHROPIC_BASE_URL`.
    pub anthropic_base_url: String,
    /// The gateway.
    pub gateway: glassbox_gateway::GatewayConfig,
    /// Host and GPU collectors, scrape targets and retention of metric points.
    pub infra: glassbox_infra::InfraConfig,
    /// Masks PII and secrets in model calls before they are stored, so the originals are
    /// never written; the same as `analyzers.mask_pii` and `analyzers.mask_secrets` both on.
    /// Default false; variable `GLASSBOX_MASK_PII`, flag `--mask-pii`.
    pub mask_pii: bool,
    /// The analyzers that flag model calls at ingest (`enabled`, default all of `pii`,
    /// `secrets`, `prompt_injection`, `refusal`, `empty_output`, `truncation`,
    /// `invalid_json`, `language`), and masking (`mask_pii`, `mask_secrets`, default false).
    pub analyzers: glassbox_analyze::AnalyzerConfig,
    /// Online evaluators (`[[evaluators]]` entries: `name`, `filter`, `sample_rate`, and a
    /// `check` or a `judge`) that score a sample of live model spans. Default none.
    pub evaluators: Vec<glassbox_quality::EvaluatorConfig>,
    /// Scheduling of the threads that commit, index and build the gateway's spans, against
    /// the threads that serve requests: `idle` (the scheduler's idle class, which gives way to
    /// a call at once but nearly stops while the CPUs are kept busy), `low` (ten nice steps
    /// lower) or `normal`. Default `idle`; variable `GLASSBOX_BACKGROUND_PRIORITY`.
    pub background_priority: glassbox_store::background::Priority,
}

/// Prices that win over the built-in catalog.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricingConfig {
    /// Custom prices (`[[pricing.custom]]` entries: `provider`, `match`, `start_date`,
    /// `input_mtok`, `cache_read_mtok`, `cache_write_mtok`, `output_mtok`, `per_request`,
    /// `per_second`, ...). Prices set through the API come before these in the list; a dated
    /// entry in force wins over an undated one. Default none.
    pub custom: Vec<glassbox_enrich::CustomPrice>,
}

/// Ingest limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest OTLP request body after decompression, in bytes. Default 67108864 (64 MiB);
    /// variable `GLASSBOX_INGEST__MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// Records (spans, log records, metric points) that may wait for a commit; when full,
    /// receivers respond 429 with `Retry-After`. Default 16384;
    /// variable `GLASSBOX_INGEST__QUEUE_RECORDS`.
    pub queue_records: usize,
    /// Bytes of export requests that may wait for a commit: bodies after decompression, or
    /// the protobuf message over gRPC. When full, receivers respond 429 with `Retry-After`.
    /// The benchmark's spans take about ten times their encoded size in memory, so by that
    /// estimate the default bounds the queue near 90 MB. Default 8388608 (8 MiB);
    /// variable `GLASSBOX_INGEST__QUEUE_BYTES`.
    pub queue_bytes: usize,
    /// Records committed in one transaction at most. Default 8192;
    /// variable `GLASSBOX_INGEST__MAX_BATCH_RECORDS`.
    pub max_batch_records: usize,
}

/// SQLite store settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqliteConfig {
    /// Reader connections for API queries. Default 4; variable `GLASSBOX_SQLITE__READERS`.
    pub readers: usize,
    /// Wait for the disk on every commit, so that a power loss loses nothing acknowledged.
    /// With `false`, a crash of the process loses nothing but a power loss may lose the last
    /// commits. Default false; variable `GLASSBOX_SQLITE__SYNC_FULL`.
    pub sync_full: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./glassbox-data"),
            listen: DEFAULT_LISTEN.to_owned(),
            otlp_http_listen: "127.0.0.1:4318".to_owned(),
            otlp_grpc_listen: "127.0.0.1:4317".to_owned(),
            ingest: IngestConfig::default(),
            sqlite: SqliteConfig::default(),
            pricing: PricingConfig::default(),
            openai_base_url: glassbox_gateway::upstream::OPENAI_BASE_URL.to_owned(),
            anthropic_base_url: glassbox_gateway::upstream::ANTHROPIC_BASE_URL.to_owned(),
            gateway: glassbox_gateway::GatewayConfig::default(),
            infra: glassbox_infra::InfraConfig::default(),
            mask_pii: false,
            analyzers: glassbox_analyze::AnalyzerConfig::default(),
            evaluators: Vec::new(),
            background_priority: glassbox_store::background::Priority::default(),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_body_bytes: 64 * 1024 * 1024,
            queue_records: 16_384,
            queue_bytes: 8 << 20,
            max_batch_records: 8_192,
        }
    }
}

impl Default for SqliteConfig {
    fn default() -> Self {
        SqliteConfig {
            readers: 4,
            sync_full: false,
        }
    }
}

/// Values given on the command line, applied last.
#[derive(Debug, Default, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otlp_http_listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otlp_grpc_listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openai_base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anthropic_base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_pii: Option<bool>,
}

/// Environment variables with the `GLASSBOX_` prefix that are not configuration keys.
const NON_CONFIG_VARIABLES: &[&str] = &["config", "log"];

/// Smallest accepted `ingest.max_body_bytes`: below this no real OTLP request fits.
const MIN_BODY_BYTES: usize = 1024;

impl Config {
    /// Checks values that parse but can never work.
    fn validate(&self) -> Result<(), String> {
        let checks = [
            (
                self.ingest.queue_records >= 1,
                "ingest.queue_records must be at least 1",
            ),
            (
                self.ingest.queue_bytes >= MIN_BODY_BYTES,
                "ingest.queue_bytes must be at least 1024",
            ),
            (
                self.ingest.max_batch_records >= 1,
                "ingest.max_batch_records must be at least 1",
            ),
            (
                self.ingest.max_body_bytes >= MIN_BODY_BYTES,
                "ingest.max_body_bytes must be at least 1024",
            ),
            (
                self.sqlite.readers >= 1,
                "sqlite.readers must be at least 1",
            ),
        ];
        if let Some((_, message)) = checks.into_iter().find(|(valid, _)| !valid) {
            return Err(message.to_owned());
        }
        check_listen_address("listen", &self.listen)?;
        for (key, value) in [
            ("otlp_http_listen", &self.otlp_http_listen),
            ("otlp_grpc_listen", &self.otlp_grpc_listen),
        ] {
            if listener_address(value).is_some() {
                check_listen_address(key, value)?;
            }
        }
        self.gateway.validate()?;
        self.base_urls().map(|_| ())
    }

    /// Returns the analyzer configuration with `mask_pii` applied.
    pub fn analyzer_config(&self) -> glassbox_analyze::AnalyzerConfig {
        let mut analyzers = self.analyzers.clone();
        analyzers.mask_pii |= self.mask_pii;
        analyzers.mask_secrets |= self.mask_pii;
        analyzers
    }

    /// Returns the base URLs of the gateway's built-in upstreams, checked.
    pub fn base_urls(&self) -> Result<glassbox_gateway::BaseUrls, String> {
        let checks = [
            ("openai_base_url", &self.openai_base_url),
            ("anthropic_base_url", &self.anthropic_base_url),
        ];
        for (key, url) in checks {
            glassbox_gateway::config::check_base_url(url)
                .map_err(|error| format!("{key}: {error}"))?;
        }
        Ok(glassbox_gateway::BaseUrls {
            openai: self.openai_base_url.clone(),
            anthropic: self.anthropic_base_url.clone(),
        })
    }
}

/// Loads the configuration from every source.
pub fn load(file: Option<&Path>, flags: FlagOverrides) -> Result<Config, Box<figment::Error>> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(file) = file {
        // figment's own message for a missing file shows a shortened path on a second line.
        if let Err(error) = std::fs::metadata(file) {
            return Err(Box::new(figment::Error::from(format!(
                "cannot read the configuration file {}: {error}",
                file.display()
            ))));
        }
        figment = figment.merge(Toml::file_exact(file));
    }
    figment
        .merge(
            Env::prefixed("GLASSBOX_")
                .split("__")
                .ignore(NON_CONFIG_VARIABLES),
        )
        .merge(Serialized::globals(flags))
        .extract::<Config>()
        .map_err(Box::new)
        .and_then(|config| {
            config
                .validate()
                .map_err(|message| Box::new(figment::Error::from(message)))?;
            Ok(config)
        })
}

/// Returns the command-line flag of a top-level setting: `--otlp-http-listen` for
/// `otlp_http_listen`.
pub fn flag_of(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

/// Checks that a listen address has the form `HOST:PORT` with a port number, so that a typo
/// fails before the data directory is created.
fn check_listen_address(key: &str, value: &str) -> Result<(), String> {
    let port = value.trim().rsplit_once(':').map(|(_, port)| port);
    if port.is_some_and(|port| port.parse::<u16>().is_ok()) {
        return Ok(());
    }
    Err(format!(
        "invalid {key} (flag {}) \"{value}\": expected HOST:PORT with a port from 0 to 65535, \
         such as 127.0.0.1:7317",
        flag_of(key)
    ))
}

/// Returns the address, or `None` when the listener is turned off.
pub fn listener_address(value: &str) -> Option<&str> {
    let trimmed = value.trim();
    (!trimmed.is_empty() && !trimmed.eq_ignore_ascii_case("off")).then_some(trimmed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    // `figment::Jail` fixes the closure's error type.
    #![allow(clippy::result_large_err)]

    use super::*;

    #[test]
    fn missing_file_is_named_in_full() {
        let path = Path::new("/nonexistent-glassbox-dir/glassbox.toml");
        let error = load(Some(path), FlagOverrides::default()).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains(
                "cannot read the configuration file /nonexistent-glassbox-dir/glassbox.toml"
            ),
            "{text}"
        );
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn defaults_bind_to_loopback() {
        let config = Config::default();
        for address in [
            &config.listen,
            &config.otlp_http_listen,
            &config.otlp_grpc_listen,
        ] {
            assert!(address.starts_with("127.0.0.1:"), "{address}");
        }
    }

    #[test]
    fn example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../glassbox.example.toml");
        figment::Jail::expect_with(|_| {
            let config = load(Some(&path), FlagOverrides::default()).map_err(|error| *error)?;
            assert_eq!(config.listen, DEFAULT_LISTEN);
            assert_eq!(config, Config::default());
            Ok(())
        });
    }

    #[test]
    fn example_evaluators_parse_and_build() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../glassbox.example.toml");
        let example = std::fs::read_to_string(path).unwrap();
        let start = example.find("# [[evaluators]]").unwrap();
        let uncommented: String = example[start..]
            .lines()
            .filter_map(|line| line.strip_prefix("# ").or(line.strip_prefix("#")))
            .map(|line| format!("{line}\n"))
            .collect();
        figment::Jail::expect_with(|jail| {
            jail.create_file("glassbox.toml", &uncommented)?;
            let config = load(Some(Path::new("glassbox.toml")), FlagOverrides::default())
                .map_err(|error| *error)?;
            assert_eq!(config.evaluators.len(), 2);
            let evaluators = glassbox_quality::build_evaluators(&config.evaluators)
                .map_err(figment::Error::from)?;
            assert_eq!(evaluators[1].name, "helpfulness");
            Ok(())
        });
    }

    #[test]
    fn mask_pii_variable_masks_both() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GLASSBOX_MASK_PII", "true");
            let config = load(None, FlagOverrides::default()).map_err(|error| *error)?;
            let analyzers = config.analyzer_config();
            assert!(analyzers.mask_pii);
            assert!(analyzers.mask_secrets);
            Ok(())
        });
        figment::Jail::expect_with(|_| {
            let config = load(None, FlagOverrides::default()).map_err(|error| *error)?;
            assert!(!config.analyzer_config().masks());
            Ok(())
        });
    }

    #[test]
    fn flags_override_environment_and_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "glassbox.toml",
                "listen = \"127.0.0.1:1\"\n[ingest]\nqueue_records = 5\n",
            )?;
            jail.set_env("GLASSBOX_LISTEN", "127.0.0.1:2");
            jail.set_env("GLASSBOX_INGEST__MAX_BATCH_RECORDS", "7");
            let flags = FlagOverrides {
                listen: Some("127.0.0.1:3".into()),
                ..Default::default()
            };
            let config = load(Some(Path::new("glassbox.toml")), flags).map_err(|error| *error)?;
            assert_eq!(config.listen, "127.0.0.1:3");
            assert_eq!(config.ingest.queue_records, 5);
            assert_eq!(config.ingest.max_batch_records, 7);
            Ok(())
        });
    }

    #[test]
    fn unknown_key_is_rejected() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("glassbox.toml", "lisen = \"127.0.0.1:1\"\n")?;
            let error =
                load(Some(Path::new("glassbox.toml")), FlagOverrides::default()).unwrap_err();
            assert!(error.to_string().contains("lisen"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn background_priority_comes_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GLASSBOX_BACKGROUND_PRIORITY", "idle");
            let config = load(None, FlagOverrides::default()).map_err(|error| *error)?;
            assert_eq!(
                config.background_priority,
                glassbox_store::background::Priority::Idle
            );

            jail.set_env("GLASSBOX_BACKGROUND_PRIORITY", "lowest");
            let error = load(None, FlagOverrides::default()).unwrap_err();
            let message = error.to_string();
            assert!(
                message.to_lowercase().contains("background_priority"),
                "{message}"
            );
            assert!(message.contains("lowest"), "{message}");
            Ok(())
        });
    }

    #[test]
    fn zero_queue_is_rejected() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("GLASSBOX_INGEST__QUEUE_RECORDS", "0");
            let error = load(None, FlagOverrides::default()).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains("ingest.queue_records must be at least 1"),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    fn listen_address_needs_port() {
        assert!(check_listen_address("listen", "127.0.0.1:7317").is_ok());
        assert!(check_listen_address("listen", "[::1]:7317").is_ok());
        assert!(check_listen_address("listen", "localhost:7317").is_ok());

        let missing = check_listen_address("listen", "localhost").unwrap_err();
        assert!(missing.contains("--listen"), "{missing}");
        assert!(missing.contains("HOST:PORT"), "{missing}");
        let too_large = check_listen_address("otlp_http_listen", "127.0.0.1:99999").unwrap_err();
        assert!(too_large.contains("--otlp-http-listen"), "{too_large}");
    }

    #[test]
    fn off_disables_a_listener() {
        assert_eq!(listener_address("off"), None);
        assert_eq!(listener_address(""), None);
        assert_eq!(listener_address("127.0.0.1:4318"), Some("127.0.0.1:4318"));
    }
}
