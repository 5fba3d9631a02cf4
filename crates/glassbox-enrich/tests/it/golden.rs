//! Golden costs: spans priced by the enricher against costs worked out by hand from the
//! values in `data/genai-prices/data.json` (USD per million tokens, written in each comment).

use glassbox_enrich::{CustomPrice, Enricher, PriceSource, parse_custom_prices};
use glassbox_model::{CostStatus, Span, TokenUsage};

use crate::support::{assert_cost, at, model_call, usage};

struct Case {
    name: &'static str,
    provider: Option<&'static str>,
    request_model: &'static str,
    response_model: Option<&'static str>,
    usage: TokenUsage,
    /// Start of the call; `None` keeps the default of 2025-09-01 12:00 UTC.
    start: Option<u64>,
    /// The expected cost, or `None` for an unpriced span.
    cost: Option<f64>,
}

fn case(
    name: &'static str,
    provider: Option<&'static str>,
    model: &'static str,
    usage: TokenUsage,
    cost: Option<f64>,
) -> Case {
    Case {
        name,
        provider,
        request_model: model,
        response_model: None,
        usage,
        start: None,
        cost,
    }
}

fn catalog_cases() -> Vec<Case> {
    vec![
        // gpt-4o: input 2.5, cache read 1.25, output 10.
        // (1000 − 200) × 2.5 + 200 × 1.25 + 500 × 10 = 2000 + 250 + 5000 = 7250 → 0.00725.
        // The 100 reasoning tokens are part of the 500 output tokens and cost the output price.
        case(
            "gpt-4o cached and reasoning",
            Some("openai"),
            "gpt-4o",
            usage(1000, 200, 0, 500, 100),
            Some(0.00725),
        ),
        // The same through a provider prefix and no span provider.
        case(
            "provider prefix",
            None,
            "openai/gpt-4o",
            usage(1000, 200, 0, 500, 100),
            Some(0.00725),
        ),
        // Azure lists no gpt-4o and falls back to OpenAI's price.
        case(
            "azure falls back to openai",
            Some("azure.ai.openai"),
            "gpt-4o",
            usage(1000, 200, 0, 500, 100),
            Some(0.00725),
        ),
        // gpt-4o-mini: input 0.15, cache read 0.075, output 0.6. A dated name the catalog does
        // not list is priced as the base model.
        // 15 × 0.15 + 4 × 0.075 + 17 × 0.6 = 2.25 + 0.3 + 10.2 = 12.75 → 0.00001275.
        case(
            "dated gpt-4o-mini",
            Some("openai"),
            "gpt-4o-mini-2024-01-01",
            usage(19, 4, 0, 17, 5),
            Some(12.75e-6),
        ),
        // Without a span provider, OpenAI's model_match (starts with "gpt-") finds the provider.
        case(
            "dated name without provider",
            None,
            "gpt-4o-mini-2024-01-01",
            usage(19, 4, 0, 17, 5),
            Some(12.75e-6),
        ),
        // claude-3-5-haiku: input 0.8, cache write 1, cache read 0.08, output 4.
        // 21 × 0.8 + 4 × 0.08 + 15 × 4 = 16.8 + 0.32 + 60 = 77.12 → 0.00007712.
        case(
            "claude haiku cache read",
            Some("anthropic"),
            "claude-3-5-haiku-20241022",
            usage(25, 4, 0, 15, 0),
            Some(77.12e-6),
        ),
        // (1000 − 100 − 300) × 0.8 + 100 × 0.08 + 300 × 1 + 50 × 4 = 480 + 8 + 300 + 200 = 988.
        case(
            "claude haiku cache write",
            Some("anthropic"),
            "claude-3-5-haiku-20250101",
            usage(1000, 100, 300, 50, 0),
            Some(988e-6),
        ),
        // claude-sonnet-4-5 tiers above 200,000 input tokens: input 6, cache write 7.5, cache
        // read 0.6, output 22.5, for all tokens of the call.
        // 190,000 × 6 + 50,000 × 0.6 + 10,000 × 7.5 + 2,000 × 22.5
        // = 1,140,000 + 30,000 + 75,000 + 45,000 = 1,290,000 → 1.29.
        case(
            "sonnet 4.5 above tier",
            Some("anthropic"),
            "claude-sonnet-4-5",
            usage(250_000, 50_000, 10_000, 2_000, 0),
            Some(1.29),
        ),
        // Below the tier: input 3, output 15. 150,000 × 3 + 2,000 × 15 = 480,000 → 0.48.
        case(
            "sonnet 4.5 below tier",
            Some("anthropic"),
            "claude-sonnet-4-5",
            usage(150_000, 0, 0, 2_000, 0),
            Some(0.48),
        ),
        // Bedrock: the regional Haiku 4.5 entry, input 1.1, output 5.5.
        // 1000 × 1.1 + 100 × 5.5 = 1100 + 550 = 1650 → 0.00165.
        case(
            "bedrock regional haiku",
            Some("aws.bedrock"),
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            usage(1000, 0, 0, 100, 0),
            Some(1650e-6),
        ),
        // Perplexity sonar: input 1, output 1, requests_kcount 12 (0.012 per call).
        // (1000 + 500) / 1e6 + 0.012 = 0.0135.
        case(
            "per request from catalog",
            Some("perplexity"),
            "sonar",
            usage(1000, 0, 0, 500, 0),
            Some(0.0135),
        ),
        // text-embedding-3-small: input 0.02. 12 × 0.02 = 0.24 → 0.00000024.
        case(
            "embedding",
            Some("openai"),
            "text-embedding-3-small",
            usage(12, 0, 0, 0, 0),
            Some(0.24e-6),
        ),
        // Without a provider, a name that no vendor's model_match covers is still found among
        // the vendors' models: 12 × 0.02 = 0.24.
        case(
            "embedding without provider",
            None,
            "text-embedding-3-small",
            usage(12, 0, 0, 0, 0),
            Some(0.24e-6),
        ),
        case(
            "unknown model",
            Some("openai"),
            "mock-gpt",
            usage(19, 4, 0, 17, 5),
            None,
        ),
        // A provider the catalog does not know gets no catalog price, even for a known name.
        case(
            "unknown provider",
            Some("ollama"),
            "gpt-4o",
            usage(19, 0, 0, 17, 0),
            None,
        ),
    ]
}

fn history_cases() -> Vec<Case> {
    // o3 cost input 10, output 40 until 2025-06-09 and input 2, output 8 from 2025-06-10.
    // 1000 × 10 + 1000 × 40 = 50,000 → 0.05; 1000 × 2 + 1000 × 8 = 10,000 → 0.01.
    let o3 = |name, start, cost| Case {
        start: Some(start),
        ..case(
            name,
            Some("openai"),
            "o3",
            usage(1000, 0, 0, 1000, 0),
            Some(cost),
        )
    };
    // claude-opus-4-6: tiered (above 200,000 input: input 10, output 37.5) until 2026-03-12,
    // flat (input 5, output 25) from 2026-03-13.
    // 300,000 × 10 + 1,000 × 37.5 = 3,037,500 → 3.0375; 300,000 × 5 + 1,000 × 25 = 1.525.
    let opus = |name, start, cost| Case {
        start: Some(start),
        ..case(
            name,
            Some("anthropic"),
            "claude-opus-4-6",
            usage(300_000, 0, 0, 1_000, 0),
            Some(cost),
        )
    };
    // deepseek-chat: input 0.27, output 1.1 from 00:30 to 16:30 UTC, else input 0.135,
    // output 0.55. 1M × 0.27 + 1M × 1.1 = 1.37; 1M × 0.135 + 1M × 0.55 = 0.685.
    let deepseek = |name, start, cost| Case {
        start: Some(start),
        ..case(
            name,
            Some("deepseek"),
            "deepseek-chat",
            usage(1_000_000, 0, 0, 1_000_000, 0),
            Some(cost),
        )
    };
    vec![
        o3("o3 before price cut", at("2025-06-09", 23, 59), 0.05),
        o3("o3 after price cut", at("2025-06-10", 0, 0), 0.01),
        opus("opus 4.6 tiered period", at("2026-03-12", 12, 0), 3.0375),
        opus("opus 4.6 flat period", at("2026-03-13", 12, 0), 1.525),
        deepseek("deepseek peak", at("2025-09-01", 10, 0), 1.37),
        deepseek("deepseek off-peak", at("2025-09-01", 20, 0), 0.685),
    ]
}

fn run(enricher: &Enricher, case: &Case) -> Span {
    let mut span = model_call(case.provider, case.request_model, case.usage);
    span.response_model = case.response_model.map(str::to_owned);
    if let Some(start) = case.start {
        span.start_time_unix_nano = start;
        span.end_time_unix_nano = start + 1_000_000_000;
    }
    enricher.enrich(&mut span);
    span
}

fn check(enricher: &Enricher, case: &Case) {
    let span = run(enricher, case);
    match case.cost {
        Some(cost) => {
            assert_eq!(
                span.cost_status,
                Some(CostStatus::Computed),
                "{}",
                case.name
            );
            assert_cost(span.cost_usd, cost, case.name);
            assert_eq!(span.computed_cost_usd, span.cost_usd, "{}", case.name);
        }
        None => {
            assert_eq!(
                span.cost_status,
                Some(CostStatus::Unpriced),
                "{}",
                case.name
            );
            assert_eq!(span.cost_usd, None, "{}", case.name);
            assert_eq!(span.computed_cost_usd, None, "{}", case.name);
        }
    }
}

#[test]
fn catalog_costs_match_hand_computation() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    for case in catalog_cases() {
        check(&enricher, &case);
    }
}

#[test]
fn price_history_by_start_time() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    for case in history_cases() {
        check(&enricher, &case);
    }
}

#[test]
fn response_model_tried_before_request_model() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    // The response model gpt-4o-mini wins over the request alias gpt-4o.
    // 15 × 0.15 + 4 × 0.075 + 17 × 0.6 = 12.75 → 0.00001275.
    let answered = Case {
        response_model: Some("gpt-4o-mini"),
        ..case(
            "response model",
            Some("openai"),
            "gpt-4o",
            usage(19, 4, 0, 17, 0),
            Some(12.75e-6),
        )
    };
    check(&enricher, &answered);
    // An unknown response name falls back to the listed request model gpt-4o before a base
    // name is guessed: 15 × 2.5 + 4 × 1.25 + 17 × 10 = 37.5 + 5 + 170 = 212.5.
    let unknown = Case {
        response_model: Some("gpt-4o-mini-2024-01-01"),
        ..case(
            "listed request model",
            Some("openai"),
            "gpt-4o",
            usage(19, 4, 0, 17, 0),
            Some(212.5e-6),
        )
    };
    check(&enricher, &unknown);
}

fn custom_prices() -> Vec<CustomPrice> {
    parse_custom_prices(
        r#"[
            {"provider": "openai", "match": {"equals": "gpt-4o"}, "input_mtok": 1, "output_mtok": 2},
            {"match": {"equals": "house-model"}, "start_date": "2025-01-01", "input_mtok": 1, "output_mtok": 1},
            {"match": {"equals": "house-model"}, "start_date": "2025-07-01", "input_mtok": 2, "output_mtok": 2},
            {"match": {"starts_with": "llama-3.1-70b"}, "per_second": 0.0011},
            {"match": {"equals": "reranker-x"}, "input_mtok": 0.05, "per_request": 0.002},
            {"match": {"equals": "thinker"}, "input_mtok": 1, "output_mtok": 4, "reasoning_mtok": 10}
        ]"#,
    )
    .unwrap()
}

#[test]
fn custom_prices_win_and_apply() {
    let enricher = Enricher::new(custom_prices()).unwrap();
    let cases = [
        // Custom gpt-4o for openai: input 1, output 2, no cache price, so the 200 cached
        // tokens cost the input price: 1000 × 1 + 500 × 2 = 2000 → 0.002.
        case(
            "custom overrides catalog",
            Some("openai"),
            "gpt-4o",
            usage(1000, 200, 0, 500, 100),
            Some(0.002),
        ),
        // The custom entry is for openai only; Azure still falls back to the catalog (0.00725).
        case(
            "custom provider limits",
            Some("azure.ai.openai"),
            "gpt-4o",
            usage(1000, 200, 0, 500, 100),
            Some(0.00725),
        ),
        // house-model from 2025-07-01: input 2, output 2. (100 + 100) × 2 = 400 → 0.0004.
        case(
            "custom history latest",
            None,
            "house-model",
            usage(100, 0, 0, 100, 0),
            Some(0.0004),
        ),
        // 2.5 s at 0.0011 per second = 0.00275, whatever the tokens.
        Case {
            start: None,
            ..case(
                "per second",
                Some("vllm"),
                "llama-3.1-70b-instruct",
                usage(100, 0, 0, 50, 0),
                Some(0.00275),
            )
        },
        // 1000 × 0.05 / 1e6 + 0.002 = 0.00005 + 0.002 = 0.00205.
        case(
            "per request",
            None,
            "reranker-x",
            usage(1000, 0, 0, 0, 0),
            Some(0.00205),
        ),
        // 10 × 1 + (100 − 60) × 4 + 60 × 10 = 10 + 160 + 600 = 770 → 0.00077.
        case(
            "reasoning price",
            None,
            "thinker",
            usage(10, 0, 0, 100, 60),
            Some(770e-6),
        ),
    ];
    for case in cases {
        let mut span = model_call(case.provider, case.request_model, case.usage);
        if case.name == "per second" {
            span.end_time_unix_nano = span.start_time_unix_nano + 2_500_000_000;
        }
        enricher.enrich(&mut span);
        assert_eq!(
            span.cost_status,
            Some(CostStatus::Computed),
            "{}",
            case.name
        );
        assert_cost(span.cost_usd, case.cost.unwrap(), case.name);
    }
}

#[test]
fn custom_history_by_date() {
    let enricher = Enricher::new(custom_prices()).unwrap();
    // 2025-03-01: input 1, output 1, 200 tokens → 0.0002.
    let early = Case {
        start: Some(at("2025-03-01", 0, 0)),
        ..case(
            "first price",
            None,
            "house-model",
            usage(100, 0, 0, 100, 0),
            Some(0.0002),
        )
    };
    check(&enricher, &early);
    // Before 2025-01-01 no entry is in force and the catalog does not know the model.
    let before = Case {
        start: Some(at("2024-12-31", 23, 0)),
        ..case(
            "before history",
            None,
            "house-model",
            usage(100, 0, 0, 100, 0),
            None,
        )
    };
    check(&enricher, &before);
}

#[test]
fn per_second_price_without_tokens() {
    let enricher = Enricher::new(custom_prices()).unwrap();
    let mut span = model_call(
        Some("vllm"),
        "llama-3.1-70b-instruct",
        TokenUsage::default(),
    );
    span.end_time_unix_nano = span.start_time_unix_nano + 4_000_000_000;
    enricher.enrich(&mut span);
    // 4 s × 0.0011 = 0.0044.
    assert_eq!(span.cost_status, Some(CostStatus::Computed));
    assert_cost(span.cost_usd, 0.0044, "per second without tokens");
}

#[test]
fn custom_prices_swap_at_run_time() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let mut span = model_call(None, "house-model", usage(100, 0, 0, 100, 0));
    enricher.enrich(&mut span);
    assert_eq!(span.cost_status, Some(CostStatus::Unpriced));

    enricher.set_custom_prices(custom_prices()).unwrap();
    assert_eq!(enricher.custom_prices(), custom_prices());
    enricher.reprice(&mut span);
    assert_eq!(span.cost_status, Some(CostStatus::Computed));
    assert_cost(span.cost_usd, 0.0004, "after swap");

    let invalid = parse_custom_prices(r#"[{"match": {"equals": "x"}, "input_mtok": 1}]"#).unwrap();
    let mut broken = invalid;
    broken[0].prices.input_mtok = Some(glassbox_enrich::PriceValue::Flat(-1.0));
    assert!(enricher.set_custom_prices(broken).is_err());
    assert_eq!(
        enricher.custom_prices(),
        custom_prices(),
        "old prices stay on error"
    );
}

#[test]
fn reported_cost_is_kept_beside_computed() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let mut span = model_call(Some("openai"), "gpt-4o-mini", usage(19, 4, 0, 17, 5));
    span.cost_usd = Some(0.5);
    span.cost_status = Some(CostStatus::Reported);
    enricher.enrich(&mut span);
    assert_eq!(span.cost_status, Some(CostStatus::Reported));
    assert_eq!(span.cost_usd, Some(0.5));
    assert_cost(span.computed_cost_usd, 12.75e-6, "computed beside reported");
}

#[test]
fn spans_without_model_usage_stay_unset() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let mut tool = model_call(None, "gpt-4o", TokenUsage::default());
    tool.kind = glassbox_model::SpanKind::Tool;
    tool.request_model = None;
    enricher.enrich(&mut tool);
    assert_eq!(tool.cost_status, None);

    // A model without token counts has nothing to price.
    let mut failed = model_call(Some("openai"), "gpt-4o", TokenUsage::default());
    enricher.enrich(&mut failed);
    assert_eq!(failed.cost_status, None);
    assert_eq!(failed.cost_usd, None);

    // An agent span's counts are not priced again.
    let mut agent = model_call(Some("openai"), "gpt-4o", usage(1000, 0, 0, 500, 0));
    agent.kind = glassbox_model::SpanKind::Agent;
    enricher.enrich(&mut agent);
    assert_eq!(agent.cost_status, None);
}

#[test]
fn find_price_describes_the_entry() {
    let enricher = Enricher::new(custom_prices()).unwrap();
    let noon = at("2025-09-01", 12, 0);

    let dated = enricher
        .find_price(Some("openai"), "gpt-4o-mini-2024-01-01", noon)
        .unwrap();
    assert_eq!(dated.source, PriceSource::Catalog);
    assert_eq!(dated.provider.as_deref(), Some("openai"));
    assert_eq!(dated.model_id.as_deref(), Some("gpt-4o-mini"));
    assert!(dated.by_base_model);
    assert_eq!(
        dated.prices.input_mtok,
        Some(glassbox_enrich::PriceValue::Flat(0.15))
    );

    let custom = enricher.find_price(Some("openai"), "gpt-4o", noon).unwrap();
    assert_eq!(custom.source, PriceSource::Custom);
    assert_eq!(custom.custom_index, Some(0));

    let o3 = enricher.find_price(Some("openai"), "o3", noon).unwrap();
    assert!(
        matches!(o3.constraint, Some(glassbox_enrich::PriceConstraint::StartDate { ref start_date, .. }) if start_date == "2025-06-10")
    );

    assert_eq!(enricher.find_price(Some("openai"), "mock-gpt", noon), None);
}
