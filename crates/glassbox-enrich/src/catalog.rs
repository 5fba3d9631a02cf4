//! The built-in price catalog: the bundled `data/genai-prices/data.json`, parsed once per
//! process into providers with compiled match rules.
//!
//! The catalog lists providers. Each has an `id` and its models, and optionally a
//! `provider_match` rule for the provider names that select it, a `model_match` rule used
//! when a span names no provider, and `fallback_model_providers` whose models it also serves.
//! Each model has a `match` rule and either one set of prices or a list of prices with
//! constraints. Of such a list, the last entry in force applies, or the first when none is.
//!
//! Price keys that spans have no counts for (image, video, text-only splits) are skipped.

use std::sync::{Arc, LazyLock};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::PricingError;
use crate::prices::{TokenPrices, parse_number, set_token_price};
use crate::rule::{MatchRule, Matcher};
use crate::schedule::PriceConstraint;

/// The catalog as bundled: model prices from the genai-prices project (MIT licence).
const DATA_JSON: &str = include_str!("../data/genai-prices/data.json");

/// Glassbox's normalized provider names whose catalog provider id differs, and that id.
///
/// Names missing here are looked up by catalog id and then by the providers' `provider_match`
/// rules, which already cover spellings such as `mistral_ai` and `gcp.vertex_ai`. The Azure
/// names must come first because `azure.ai.openai` would otherwise match OpenAI's rule.
const PROVIDER_ALIASES: &[(&str, &str)] = &[
    ("aws.bedrock", "aws"),
    ("azure.ai.inference", "azure"),
    ("azure.ai.openai", "azure"),
    ("gcp.gemini", "google"),
    ("gcp.gen_ai", "google"),
    ("gcp.vertex_ai", "google"),
    ("mistral_ai", "mistral"),
    ("moonshot_ai", "moonshotai"),
    ("x_ai", "x-ai"),
];

static BUILTIN: LazyLock<Result<Arc<Catalog>, PricingError>> =
    LazyLock::new(|| Catalog::parse(DATA_JSON).map(Arc::new));

/// Returns the built-in catalog, parsed on first use.
pub(crate) fn builtin() -> Result<Arc<Catalog>, PricingError> {
    BUILTIN.clone()
}

/// All providers of a catalog, in catalog order.
#[derive(Debug)]
pub(crate) struct Catalog {
    providers: Vec<Provider>,
}

#[derive(Debug)]
pub(crate) struct Provider {
    pub(crate) id: String,
    provider_match: Option<Matcher>,
    model_match: Option<Matcher>,
    /// Indexes of the providers whose models this one also serves, in priority order.
    fallbacks: Vec<usize>,
    pub(crate) models: Vec<Model>,
}

#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    matcher: Matcher,
    schedule: Vec<ScheduledPrice>,
}

/// Prices with the constraint under which they apply; `None` applies at any time.
#[derive(Debug)]
pub(crate) struct ScheduledPrice {
    pub(crate) constraint: Option<PriceConstraint>,
    pub(crate) prices: TokenPrices,
}

/// A model of the catalog: indexes of its provider and of the model in that provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ModelRef {
    pub(crate) provider: u32,
    pub(crate) model: u32,
}

impl Catalog {
    /// Parses a catalog in the genai-prices `data.json` format.
    pub(crate) fn parse(json: &str) -> Result<Catalog, PricingError> {
        let raw: Vec<RawProvider> =
            serde_json::from_str(json).map_err(|error| PricingError::Catalog {
                message: error.to_string(),
            })?;
        let ids: Vec<String> = raw.iter().map(|provider| provider.id.clone()).collect();
        let providers = raw
            .into_iter()
            .map(|provider| provider.compile(&ids))
            .collect::<Result<_, _>>()?;
        Ok(Catalog { providers })
    }

    pub(crate) fn provider(&self, index: u32) -> Option<&Provider> {
        self.providers.get(index as usize)
    }

    pub(crate) fn model(&self, found: ModelRef) -> Option<(&Provider, &Model)> {
        let provider = self.provider(found.provider)?;
        Some((provider, provider.models.get(found.model as usize)?))
    }

    /// Returns the provider that a lowercase provider name selects: through Glassbox's
    /// aliases, then by catalog id, then by the first `provider_match` rule that matches.
    pub(crate) fn provider_index(&self, name: &str) -> Option<u32> {
        let name = PROVIDER_ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, id)| id);
        let by_id = self
            .providers
            .iter()
            .position(|provider| provider.id == name);
        let index = by_id.or_else(|| {
            self.providers.iter().position(|provider| {
                provider
                    .provider_match
                    .as_ref()
                    .is_some_and(|rule| rule.matches(name))
            })
        })?;
        u32::try_from(index).ok()
    }

    /// Returns the model vendors (the providers with a `model_match` rule) to search for a
    /// lowercase model name when a span names no provider: first those whose rule matches the
    /// name, then the others, each group in catalog order. Resellers such as `aws`, `azure` or
    /// `openrouter` have no such rule and are left out.
    pub(crate) fn vendors_for_model<'a>(&'a self, name: &'a str) -> impl Iterator<Item = u32> + 'a {
        let matching = self.vendors().filter(move |(_, rule)| rule.matches(name));
        let others = self.vendors().filter(move |(_, rule)| !rule.matches(name));
        matching
            .chain(others)
            .filter_map(|(index, _)| u32::try_from(index).ok())
    }

    fn vendors(&self) -> impl Iterator<Item = (usize, &Matcher)> {
        self.providers
            .iter()
            .enumerate()
            .filter_map(|(index, provider)| Some((index, provider.model_match.as_ref()?)))
    }

    /// Returns the provider followed by the providers it falls back to.
    fn chain(&self, provider: u32) -> impl Iterator<Item = u32> + '_ {
        let fallbacks = self
            .provider(provider)
            .map_or(&[][..], |found| found.fallbacks.as_slice());
        std::iter::once(provider).chain(
            fallbacks
                .iter()
                .filter_map(|index| u32::try_from(*index).ok()),
        )
    }

    /// Returns the first model, in the provider and then its fallbacks, whose rule matches a
    /// lowercase model name.
    pub(crate) fn find_first(&self, provider: u32, name: &str) -> Option<ModelRef> {
        self.chain(provider)
            .find_map(|index| self.matching_models(index, name).next())
    }

    /// Returns the model whose rule matches a lowercase model name, when exactly one model of
    /// the first provider of the chain that has any match does.
    pub(crate) fn find_unique(&self, provider: u32, name: &str) -> Option<ModelRef> {
        for index in self.chain(provider) {
            let mut matches = self.matching_models(index, name);
            if let Some(first) = matches.next() {
                return matches.next().is_none().then_some(first);
            }
        }
        None
    }

    fn matching_models<'a>(
        &'a self,
        provider: u32,
        name: &'a str,
    ) -> impl Iterator<Item = ModelRef> + 'a {
        let models = self
            .provider(provider)
            .map_or(&[][..], |found| found.models.as_slice());
        models
            .iter()
            .enumerate()
            .filter(move |(_, model)| model.matcher.matches(name))
            .filter_map(move |(index, _)| {
                Some(ModelRef {
                    provider,
                    model: u32::try_from(index).ok()?,
                })
            })
    }
}

impl Model {
    /// Returns the prices in force at `at_unix_nano`: the last entry whose constraint holds,
    /// else the first entry.
    pub(crate) fn price_at(&self, at_unix_nano: u64) -> Option<&ScheduledPrice> {
        self.schedule
            .iter()
            .rev()
            .find(|entry| {
                entry
                    .constraint
                    .as_ref()
                    .is_none_or(|constraint| constraint.is_active(at_unix_nano))
            })
            .or_else(|| self.schedule.first())
    }
}

#[derive(Deserialize)]
struct RawProvider {
    id: String,
    #[serde(default)]
    provider_match: Option<MatchRule>,
    #[serde(default)]
    model_match: Option<MatchRule>,
    #[serde(default)]
    fallback_model_providers: Vec<String>,
    models: Vec<RawModel>,
}

#[derive(Deserialize)]
struct RawModel {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "match")]
    rule: MatchRule,
    prices: RawPrices,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawPrices {
    Single(Map<String, Value>),
    Conditional(Vec<RawConditionalPrice>),
}

#[derive(Deserialize)]
struct RawConditionalPrice {
    #[serde(default)]
    constraint: Option<RawConstraint>,
    prices: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawConstraint {
    StartDate {
        start_date: String,
    },
    TimeOfDay {
        start_time: String,
        end_time: String,
    },
}

impl RawProvider {
    fn compile(self, ids: &[String]) -> Result<Provider, PricingError> {
        let context = |error: PricingError| catalog_error(&self.id, None, error);
        let provider_match = self
            .provider_match
            .as_ref()
            .map(|rule| Matcher::compile(rule, false))
            .transpose()
            .map_err(context)?;
        let model_match = self
            .model_match
            .as_ref()
            .map(|rule| Matcher::compile(rule, false))
            .transpose()
            .map_err(context)?;
        let fallbacks = self
            .fallback_model_providers
            .iter()
            .filter_map(|fallback| ids.iter().position(|id| id == fallback))
            .collect();
        let models = self
            .models
            .into_iter()
            .map(|model| model.compile(&self.id))
            .collect::<Result<_, _>>()?;
        Ok(Provider {
            id: self.id,
            provider_match,
            model_match,
            fallbacks,
            models,
        })
    }
}

impl RawModel {
    fn compile(self, provider: &str) -> Result<Model, PricingError> {
        let context = |error: PricingError| catalog_error(provider, Some(&self.id), error);
        let matcher = Matcher::compile(&self.rule, false).map_err(context)?;
        let schedule = match &self.prices {
            RawPrices::Single(prices) => vec![ScheduledPrice {
                constraint: None,
                prices: token_prices(prices).map_err(context)?,
            }],
            RawPrices::Conditional(entries) => entries
                .iter()
                .map(|entry| entry.compile())
                .collect::<Result<_, _>>()
                .map_err(context)?,
        };
        Ok(Model {
            id: self.id,
            name: self.name,
            matcher,
            schedule,
        })
    }
}

impl RawConditionalPrice {
    fn compile(&self) -> Result<ScheduledPrice, PricingError> {
        let constraint = match &self.constraint {
            None => None,
            Some(RawConstraint::StartDate { start_date }) => {
                Some(PriceConstraint::start_date(start_date)?)
            }
            Some(RawConstraint::TimeOfDay {
                start_time,
                end_time,
            }) => Some(
                PriceConstraint::time_of_day(start_time, end_time).ok_or_else(|| {
                    PricingError::Catalog {
                        message: format!("invalid time window {start_time:?} to {end_time:?}"),
                    }
                })?,
            ),
        };
        Ok(ScheduledPrice {
            constraint,
            prices: token_prices(&self.prices)?,
        })
    }
}

/// Reads the catalog's price keys: token prices and `requests_kcount` (US dollars per
/// thousand calls); other keys are skipped.
fn token_prices(raw: &Map<String, Value>) -> Result<TokenPrices, PricingError> {
    let mut prices = TokenPrices::default();
    for (key, value) in raw {
        if key == "requests_kcount" {
            prices.per_request = Some(parse_number(key, value)? / 1000.0);
            continue;
        }
        set_token_price(&mut prices, key, value)?;
    }
    Ok(prices)
}

fn catalog_error(provider: &str, model: Option<&str>, error: PricingError) -> PricingError {
    let location = match model {
        Some(model) => format!("provider {provider:?}, model {model:?}"),
        None => format!("provider {provider:?}"),
    };
    PricingError::Catalog {
        message: format!("{location}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Arc<Catalog> {
        builtin().unwrap()
    }

    #[test]
    fn builtin_catalog_parses() {
        let catalog = catalog();
        assert!(catalog.providers.len() >= 30);
        let models: usize = catalog.providers.iter().map(|p| p.models.len()).sum();
        assert!(models >= 1_000, "{models} models");
    }

    #[test]
    fn provider_names_resolve() {
        let catalog = catalog();
        let id = |name: &str| {
            catalog
                .provider_index(name)
                .and_then(|index| catalog.provider(index))
                .map(|provider| provider.id.as_str())
        };
        assert_eq!(id("openai"), Some("openai"));
        assert_eq!(id("aws.bedrock"), Some("aws"));
        assert_eq!(id("gcp.vertex_ai"), Some("google"));
        assert_eq!(id("azure.ai.openai"), Some("azure"));
        assert_eq!(id("x_ai"), Some("x-ai"));
        assert_eq!(id("mistral_ai"), Some("mistral"));
        assert_eq!(id("ollama"), None);
    }

    #[test]
    fn fallback_providers_serve_models() {
        let catalog = catalog();
        let azure = catalog.provider_index("azure").unwrap();
        let found = catalog
            .find_first(azure, "claude-3-5-haiku-20241022")
            .unwrap();
        let (provider, _) = catalog.model(found).unwrap();
        assert_eq!(provider.id, "anthropic");
    }

    #[test]
    fn conditional_prices_pick_last_in_force() {
        let catalog = catalog();
        let openai = catalog.provider_index("openai").unwrap();
        let (_, o3) = catalog
            .model(catalog.find_first(openai, "o3").unwrap())
            .unwrap();
        let june_10_2025 = date_start_unix_nano_for_test("2025-06-10");
        let before = o3.price_at(june_10_2025 - 1).unwrap();
        let after = o3.price_at(june_10_2025).unwrap();
        assert_ne!(before.prices, after.prices);
        assert!(after.constraint.is_some());
        assert!(before.constraint.is_none());
    }

    fn date_start_unix_nano_for_test(date: &str) -> u64 {
        crate::schedule::date_start_unix_nano(date).unwrap()
    }
}
