//! Finding the price of a model: custom prices first, then the catalog, with a cache of
//! resolved names.
//!
//! For one model name the search goes:
//!
//! 1. Custom prices whose provider and rule match the name (or the name without its
//!    `provider/` prefix). Of those in force at the span's start, the one with the latest
//!    `start_date` wins, and among equal dates the first listed. Entries without a date are
//!    in force at any time. When none is in force, the catalog decides.
//! 2. The catalog, with the name as given: in the span's provider (and the providers it falls
//!    back to), with the name and then without its prefix; then in the provider that the
//!    prefix names (`openai/gpt-4o`); and, only when the span names no provider, in the model
//!    vendors: first those whose `model_match` rule matches the name (`gpt-` for OpenAI),
//!    then the other vendors, so `text-embedding-3-small` still finds OpenAI. Resellers
//!    (`aws`, `azure`, `openrouter`, ...) are searched only when the span names them. The
//!    first matching model wins.
//! 3. The catalog, with a trailing date (`-YYYY-MM-DD` or `-YYYYMMDD`) removed, searched the
//!    same way but accepted only when exactly one model of the provider matches the base name.
//!
//! A span's response model is searched before its request model at each step, so a listed
//! name always beats a base name guessed from a dated one. A provider that the catalog does
//! not know (`ollama`, `vllm`) gets catalog prices only through a model name prefix.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use serde::Serialize;

use crate::catalog::{Catalog, ModelRef};
use crate::custom::{CompiledCustomPrice, CustomPrice};
use crate::error::PricingError;
use crate::prices::TokenPrices;
use crate::schedule::PriceConstraint;

/// The number of resolved names kept per price set. The cache is emptied when it reaches this
/// size, which bounds the memory that arbitrary model names sent by clients can take.
const MAX_CACHED_NAMES: usize = 4096;

/// The origin of a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// The built-in catalog.
    Catalog,
    /// An operator-defined custom price.
    Custom,
}

/// The price that applies to a model at a given time, and the entry it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceInfo {
    /// Whether the price is built in or custom.
    pub source: PriceSource,
    /// The catalog's provider id (`openai`, `aws`, ...) or the custom price's provider.
    pub provider: Option<String>,
    /// The catalog's model id; `None` for a custom price.
    pub model_id: Option<String>,
    /// The catalog's display name of the model, where it has one.
    pub model_name: Option<String>,
    /// The position of the custom price in the list; `None` for a catalog price.
    pub custom_index: Option<usize>,
    /// True when the model matched only after its trailing date was removed.
    pub by_base_model: bool,
    /// The condition under which this price is in force, when it is one of several.
    pub constraint: Option<PriceConstraint>,
    /// The prices.
    pub prices: TokenPrices,
}

/// The catalog together with one list of custom prices, and the cache of resolved names.
///
/// A new set replaces the old one when the custom prices change, so the cache never contains a
/// resolution made with other prices.
#[derive(Debug)]
pub(crate) struct PriceSet {
    catalog: Arc<Catalog>,
    custom: Vec<CustomPrice>,
    compiled: Vec<CompiledCustomPrice>,
    cache: RwLock<NameCache>,
}

/// The price chosen for a span.
pub(crate) enum Selected<'a> {
    Custom {
        index: usize,
        price: &'a CustomPrice,
    },
    Catalog {
        model: ModelRef,
        prices: &'a TokenPrices,
        constraint: Option<&'a PriceConstraint>,
        by_base_model: bool,
    },
}

impl Selected<'_> {
    pub(crate) fn prices(&self) -> &TokenPrices {
        match self {
            Selected::Custom { price, .. } => &price.prices,
            Selected::Catalog { prices, .. } => prices,
        }
    }
}

/// The catalog models and custom prices that one (provider, model name) pair resolves to,
/// independent of time.
#[derive(Debug, Clone)]
struct Resolution {
    /// Matching custom prices, by position in the list.
    custom: Arc<[u32]>,
    /// The catalog model matched by the name as given.
    exact: Option<ModelRef>,
    /// The catalog model matched by the name without its trailing date, when `exact` is
    /// `None`.
    base: Option<ModelRef>,
}

#[derive(Debug, Default)]
struct NameCache {
    /// Resolutions by provider as the span gives it ("" for none), then by model name as sent.
    by_provider: HashMap<Box<str>, HashMap<Box<str>, Resolution>>,
    len: usize,
}

impl PriceSet {
    pub(crate) fn new(
        catalog: Arc<Catalog>,
        custom: Vec<CustomPrice>,
    ) -> Result<PriceSet, PricingError> {
        let compiled = custom
            .iter()
            .enumerate()
            .map(|(index, price)| {
                CompiledCustomPrice::compile(price).map_err(|error| error.at_index(index))
            })
            .collect::<Result<_, _>>()?;
        Ok(PriceSet {
            catalog,
            custom,
            compiled,
            cache: RwLock::new(NameCache::default()),
        })
    }

    pub(crate) fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    pub(crate) fn custom_prices(&self) -> &[CustomPrice] {
        &self.custom
    }

    /// Chooses the price for a call to the first of `names` that has one, in force at
    /// `at_unix_nano`.
    pub(crate) fn select(
        &self,
        provider: Option<&str>,
        names: [Option<&str>; 2],
        at_unix_nano: u64,
    ) -> Option<Selected<'_>> {
        let provider = provider.filter(|provider| !provider.is_empty());
        let [first, second] = names;
        let second = second.filter(|second| Some(*second) != first);
        let resolutions =
            [first, second].map(|name| name.map(|name| self.resolution(provider, name)));
        let resolutions = || resolutions.iter().flatten();

        if let Some(index) =
            resolutions().find_map(|found| self.custom_in_force(&found.custom, at_unix_nano))
        {
            let price = self.custom.get(index)?;
            return Some(Selected::Custom { index, price });
        }
        if let Some(model) = resolutions().find_map(|found| found.exact) {
            return self.catalog_price(model, at_unix_nano, false);
        }
        let model = resolutions().find_map(|found| found.base)?;
        self.catalog_price(model, at_unix_nano, true)
    }

    /// Describes the price chosen for one model name, for the API.
    pub(crate) fn find_price(
        &self,
        provider: Option<&str>,
        model: &str,
        at_unix_nano: u64,
    ) -> Option<PriceInfo> {
        let selected = self.select(provider, [Some(model), None], at_unix_nano)?;
        Some(self.describe(&selected))
    }

    fn describe(&self, selected: &Selected<'_>) -> PriceInfo {
        match selected {
            Selected::Custom { index, price } => PriceInfo {
                source: PriceSource::Custom,
                provider: price.provider.clone(),
                model_id: None,
                model_name: None,
                custom_index: Some(*index),
                by_base_model: false,
                constraint: self.custom_constraint(*index),
                prices: price.prices.clone(),
            },
            Selected::Catalog {
                model,
                prices,
                constraint,
                by_base_model,
            } => {
                let found = self.catalog.model(*model);
                PriceInfo {
                    source: PriceSource::Catalog,
                    provider: found.map(|(provider, _)| provider.id.clone()),
                    model_id: found.map(|(_, model)| model.id.clone()),
                    model_name: found.and_then(|(_, model)| model.name.clone()),
                    custom_index: None,
                    by_base_model: *by_base_model,
                    constraint: constraint.cloned(),
                    prices: (*prices).clone(),
                }
            }
        }
    }

    fn custom_constraint(&self, index: usize) -> Option<PriceConstraint> {
        let start_date = self.custom.get(index)?.start_date.clone()?;
        let start_unix_nano = self.compiled.get(index)?.start_unix_nano;
        Some(PriceConstraint::StartDate {
            start_date,
            start_unix_nano,
        })
    }

    fn catalog_price(
        &self,
        model: ModelRef,
        at_unix_nano: u64,
        by_base_model: bool,
    ) -> Option<Selected<'_>> {
        let (_, found) = self.catalog.model(model)?;
        let scheduled = found.price_at(at_unix_nano)?;
        Some(Selected::Catalog {
            model,
            prices: &scheduled.prices,
            constraint: scheduled.constraint.as_ref(),
            by_base_model,
        })
    }

    /// Returns the custom price in force: the latest start date not after the call, and the
    /// first listed among equal dates.
    fn custom_in_force(&self, candidates: &[u32], at_unix_nano: u64) -> Option<usize> {
        candidates
            .iter()
            .map(|index| *index as usize)
            .filter_map(|index| Some((index, self.compiled.get(index)?.start_unix_nano)))
            .filter(|(_, start)| *start <= at_unix_nano)
            .max_by_key(|(index, start)| (*start, Reverse(*index)))
            .map(|(index, _)| index)
    }

    fn resolution(&self, provider: Option<&str>, name: &str) -> Resolution {
        let provider_key = provider.unwrap_or("");
        let cached = self
            .cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(provider_key, name);
        if let Some(found) = cached {
            return found;
        }

        let found = self.resolve(provider, name);
        self.cache
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(provider_key, name, found.clone());
        found
    }

    fn resolve(&self, provider: Option<&str>, name: &str) -> Resolution {
        let provider = provider.map(|provider| provider.trim().to_ascii_lowercase());
        let provider = provider.as_deref();
        let name = name.trim().to_ascii_lowercase();
        let (prefix, rest) = split_provider_prefix(&name);

        let custom = self
            .compiled
            .iter()
            .enumerate()
            .filter(|(_, price)| price.provider_matches(provider, prefix))
            .filter(|(_, price)| {
                price.matcher.matches(&name) || rest.is_some_and(|rest| price.matcher.matches(rest))
            })
            .filter_map(|(index, _)| u32::try_from(index).ok())
            .collect();
        let exact = search(&self.catalog, provider, &name, Catalog::find_first);
        let base = match exact {
            Some(_) => None,
            None => strip_date_suffix(&name)
                .and_then(|base| search(&self.catalog, provider, base, Catalog::find_unique)),
        };
        Resolution {
            custom,
            exact,
            base,
        }
    }
}

impl NameCache {
    fn get(&self, provider: &str, name: &str) -> Option<Resolution> {
        self.by_provider.get(provider)?.get(name).cloned()
    }

    fn insert(&mut self, provider: &str, name: &str, resolution: Resolution) {
        if self.len >= MAX_CACHED_NAMES {
            self.by_provider.clear();
            self.len = 0;
        }
        let names = self.by_provider.entry(provider.into()).or_default();
        if names.insert(name.into(), resolution).is_none() {
            self.len += 1;
        }
    }
}

type FindModel = fn(&Catalog, u32, &str) -> Option<ModelRef>;

/// Searches the catalog for a lowercase model name in the order the module documentation
/// gives, with `find` deciding what counts as a match within one provider.
fn search(
    catalog: &Catalog,
    provider: Option<&str>,
    name: &str,
    find: FindModel,
) -> Option<ModelRef> {
    let (prefix, rest) = split_provider_prefix(name);
    let own = provider.and_then(|provider| catalog.provider_index(provider));
    if let Some(index) = own {
        let found =
            find(catalog, index, name).or_else(|| rest.and_then(|rest| find(catalog, index, rest)));
        if found.is_some() {
            return found;
        }
    }

    if let (Some(prefix), Some(rest)) = (prefix, rest) {
        let named = catalog
            .provider_index(prefix)
            .filter(|index| Some(*index) != own);
        if let Some(found) = named.and_then(|index| find(catalog, index, rest)) {
            return Some(found);
        }
    }

    if provider.is_some() {
        return None;
    }
    [Some(name), rest]
        .into_iter()
        .flatten()
        .find_map(|candidate| {
            catalog
                .vendors_for_model(candidate)
                .find_map(|index| find(catalog, index, candidate))
        })
}

/// Splits `openai/gpt-4o` into `(Some("openai"), Some("gpt-4o"))`; a name without a slash
/// gives `(None, None)`.
fn split_provider_prefix(name: &str) -> (Option<&str>, Option<&str>) {
    match name.split_once('/') {
        Some((prefix, rest)) if !prefix.is_empty() && !rest.is_empty() => {
            (Some(prefix), Some(rest))
        }
        _ => (None, None),
    }
}

/// Removes a trailing `-YYYY-MM-DD` or `-YYYYMMDD` date from a model name; returns `None`
/// when the name has no such suffix or nothing would remain.
pub(crate) fn strip_date_suffix(name: &str) -> Option<&str> {
    let bytes = name.as_bytes();
    let dashed = bytes.len().checked_sub(11).filter(|&at| {
        let suffix = &bytes[at..];
        suffix[0] == b'-'
            && suffix[5] == b'-'
            && suffix[8] == b'-'
            && is_date(&suffix[1..5], &suffix[6..8], &suffix[9..11])
    });
    let compact = || {
        bytes.len().checked_sub(9).filter(|&at| {
            let suffix = &bytes[at..];
            suffix[0] == b'-' && is_date(&suffix[1..5], &suffix[5..7], &suffix[7..9])
        })
    };
    let at = dashed.or_else(compact).filter(|at| *at > 0)?;
    name.get(..at)
}

fn is_date(year: &[u8], month: &[u8], day: &[u8]) -> bool {
    let (Some(year), Some(month), Some(day)) = (digits(year), digits(month), digits(day)) else {
        return false;
    };
    (2000..=2099).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |value, byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u32::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two models of one provider whose rules both match `shared-model`.
    const OVERLAPPING: &str = r#"[{
        "id": "acme", "name": "Acme", "api_pattern": "x", "model_match": {"starts_with": "acme-"},
        "models": [
            {"id": "exact", "match": {"equals": "acme-shared-model"}, "prices": {"input_mtok": 1}},
            {"id": "suffix", "match": {"ends_with": "shared-model"}, "prices": {"input_mtok": 2}},
            {"id": "solo", "match": {"equals": "acme-solo"}, "prices": {"input_mtok": 3}}
        ]
    }]"#;

    fn price_set() -> PriceSet {
        PriceSet::new(Arc::new(Catalog::parse(OVERLAPPING).unwrap()), Vec::new()).unwrap()
    }

    fn model_id(set: &PriceSet, name: &str) -> Option<String> {
        set.find_price(None, name, 0).and_then(|info| info.model_id)
    }

    #[test]
    fn first_matching_model_wins_for_listed_names() {
        assert_eq!(
            model_id(&price_set(), "acme-shared-model").as_deref(),
            Some("exact")
        );
    }

    #[test]
    fn ambiguous_base_name_is_not_priced() {
        let set = price_set();
        assert_eq!(model_id(&set, "acme-shared-model-2025-01-01"), None);
        assert_eq!(
            model_id(&set, "acme-solo-20250101").as_deref(),
            Some("solo")
        );
    }

    #[test]
    fn cache_keeps_answers_stable() {
        let set = price_set();
        for _ in 0..3 {
            assert_eq!(model_id(&set, "ACME-SOLO").as_deref(), Some("solo"));
        }
        assert_eq!(set.cache.read().unwrap().len, 1);
    }

    #[test]
    fn date_suffixes_are_stripped() {
        assert_eq!(
            strip_date_suffix("gpt-4o-mini-2024-01-01"),
            Some("gpt-4o-mini")
        );
        assert_eq!(
            strip_date_suffix("claude-3-5-haiku-20250101"),
            Some("claude-3-5-haiku")
        );
        assert_eq!(
            strip_date_suffix("openai/gpt-4o-2030-12-31"),
            Some("openai/gpt-4o")
        );
    }

    #[test]
    fn non_dates_are_kept() {
        for name in [
            "gpt-4o",
            "model-12345678",
            "gpt-4o-2024-13-01",
            "x-2024-01-32",
            "-20240101",
            "gpt-0613",
        ] {
            assert_eq!(strip_date_suffix(name), None, "{name}");
        }
    }

    #[test]
    fn prefixes_split_at_first_slash() {
        assert_eq!(
            split_provider_prefix("openai/gpt-4o"),
            (Some("openai"), Some("gpt-4o"))
        );
        assert_eq!(split_provider_prefix("a/b/c"), (Some("a"), Some("b/c")));
        assert_eq!(split_provider_prefix("gpt-4o"), (None, None));
        assert_eq!(split_provider_prefix("/gpt-4o"), (None, None));
    }
}
