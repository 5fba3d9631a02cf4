//! The kinds of scrape targets that the mapper has rules for.

use std::fmt;
use std::str::FromStr;

/// The software behind a scrape target, which decides how its metrics map to canonical names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// vLLM (`vllm:*` metrics).
    Vllm,
    /// Hugging Face Text Generation Inference (`tgi_*` metrics).
    Tgi,
    /// llama.cpp server (`llamacpp:*` metrics).
    LlamaCpp,
    /// NVIDIA Triton Inference Server (`nv_*` metrics).
    Triton,
    /// SGLang (`sglang:*` metrics).
    Sglang,
    /// NVIDIA DCGM exporter (`DCGM_FI_*` metrics).
    Dcgm,
    /// Any other Prometheus target: raw points, plus canonical names the page already uses.
    Prometheus,
}

impl ServerKind {
    /// Every kind.
    pub const ALL: [ServerKind; 7] = [
        ServerKind::Vllm,
        ServerKind::Tgi,
        ServerKind::LlamaCpp,
        ServerKind::Triton,
        ServerKind::Sglang,
        ServerKind::Dcgm,
        ServerKind::Prometheus,
    ];

    /// Returns the configuration name: `vllm`, `tgi`, `llamacpp`, `triton`, `sglang`, `dcgm`
    /// or `prometheus`. Points carry it as the `server.kind` label.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerKind::Vllm => "vllm",
            ServerKind::Tgi => "tgi",
            ServerKind::LlamaCpp => "llamacpp",
            ServerKind::Triton => "triton",
            ServerKind::Sglang => "sglang",
            ServerKind::Dcgm => "dcgm",
            ServerKind::Prometheus => "prometheus",
        }
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A server kind name that is not one of [`ServerKind::as_str`]'s names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown server kind {0:?}; expected one of vllm, tgi, llamacpp, triton, sglang, dcgm, prometheus"
)]
pub struct UnknownServerKind(pub String);

impl FromStr for ServerKind {
    type Err = UnknownServerKind;

    fn from_str(name: &str) -> Result<ServerKind, UnknownServerKind> {
        ServerKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownServerKind(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in ServerKind::ALL {
            assert_eq!(kind.as_str().parse::<ServerKind>(), Ok(kind));
        }
    }

    #[test]
    fn unknown_name_lists_the_choices() {
        let error = "ollama".parse::<ServerKind>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown server kind \"ollama\"; expected one of vllm, tgi, llamacpp, triton, sglang, dcgm, prometheus"
        );
        assert!("VLLM".parse::<ServerKind>().is_err());
    }
}
