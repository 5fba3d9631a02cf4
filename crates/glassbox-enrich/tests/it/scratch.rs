use glassbox_enrich::Enricher;
use glassbox_model::Message;
use crate::support::{model_call, usage};
#[test]
#[ignore]
fn scratch_bench() {
    let enricher = Enricher::new(Vec::new()).unwrap();
    let names = ["gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-01-01", "claude-3-5-haiku-20241022", "text-embedding-3-small", "mock-gpt", "meta-llama/llama-3.1-70b"];
    let providers = [Some("openai"), Some("openai"), Some("anthropic"), Some("openai"), Some("openai"), None];
    let spans: Vec<_> = names.iter().zip(providers).map(|(name, provider)| {
        let mut span = model_call(provider, name, usage(1000, 200, 0, 300, 50));
        span.response_model = Some(format!("{name}"));
        span.ttft_ms = Some(100.0);
        span
    }).collect();
    let started = std::time::Instant::now();
    let rounds = 200_000;
    for round in 0..rounds {
        let mut span = spans[round % spans.len()].clone();
        enricher.enrich(&mut span);
        std::hint::black_box(&span);
    }
    let elapsed = started.elapsed();
    println!("BENCH enrich+clone: {:.0} ns/span", elapsed.as_nanos() as f64 / rounds as f64);
    let started = std::time::Instant::now();
    for round in 0..rounds {
        let span = spans[round % spans.len()].clone();
        std::hint::black_box(&span);
    }
    println!("BENCH clone only: {:.0} ns/span", started.elapsed().as_nanos() as f64 / rounds as f64);
    // cold lookups: distinct names
    let started = std::time::Instant::now();
    for round in 0..2000 {
        let mut span = model_call(Some("openai"), &format!("unknown-model-{round}"), usage(10, 0, 0, 10, 0));
        enricher.enrich(&mut span);
    }
    println!("BENCH miss (unknown openai name): {:.0} ns/span", started.elapsed().as_nanos() as f64 / 2000.0);
    let started = std::time::Instant::now();
    for round in 0..2000 {
        let mut span = model_call(None, &format!("unknown-model-{round}"), usage(10, 0, 0, 10, 0));
        enricher.enrich(&mut span);
    }
    println!("BENCH miss (no provider): {:.0} ns/span", started.elapsed().as_nanos() as f64 / 2000.0);
    // estimation
    let text = "The blue widget is stored on shelf three, next to the green widget. ".repeat(20);
    let started = std::time::Instant::now();
    let mut span = model_call(Some("openai"), "gpt-4o", Default::default());
    span.input_messages = Some(vec![Message::text("user", "warm up")]);
    enricher.enrich(&mut span);
    println!("BENCH o200k first load: {:?}", started.elapsed());
    let started = std::time::Instant::now();
    for _ in 0..1000 {
        let mut span = model_call(Some("openai"), "gpt-4o", Default::default());
        span.input_messages = Some(vec![Message::text("user", text.clone())]);
        enricher.enrich(&mut span);
    }
    println!("BENCH estimate {} bytes: {:.0} ns/span", text.len(), started.elapsed().as_nanos() as f64 / 1000.0);
}
