//! `glassbox experiment run`: starts an experiment on a running server, shows its progress
//! and prints its totals.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

/// How often the experiment's progress is read.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The server a command talks to unless `--server` is given.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:7317";

/// Options of `glassbox experiment run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Base URL of the Glassbox server (its API and gateway port).
    #[arg(long, default_value = DEFAULT_SERVER)]
    server: String,
    /// The dataset whose items are run.
    #[arg(long)]
    dataset: String,
    /// The model called for each item, through the server's gateway.
    #[arg(long, required_unless_present_any = ["replay", "spec"])]
    model: Option<String>,
    /// The gateway upstream to use [default: routed by model name].
    #[arg(long)]
    upstream: Option<String>,
    /// The environment variable of the server process that contains the API key.
    #[arg(long)]
    api_key_env: Option<String>,
    /// Score each item's recorded output (`metadata.output`) instead of calling a model.
    #[arg(long)]
    replay: bool,
    /// A scorer without settings: exact, contains, levenshtein, bleu, rouge_l or json_equal.
    /// Repeat for more [default: exact and levenshtein].
    #[arg(long = "scorer", value_name = "TYPE")]
    scorers: Vec<String>,
    /// Also score with an LLM judge of this model, through the gateway.
    #[arg(long)]
    judge_model: Option<String>,
    /// A JSON file with the whole experiment request (scorers with settings, judge
    /// template, ...); the other flags override its fields.
    #[arg(long)]
    spec: Option<PathBuf>,
    /// A name for the experiment [default: DATASET · MODEL].
    #[arg(long)]
    name: Option<String>,
    /// Items run at once, 1 to 32 [default: 4].
    #[arg(long)]
    concurrency: Option<usize>,
}

/// Scorer types that need no settings, accepted by `--scorer`.
const SIMPLE_SCORERS: [&str; 6] = [
    "exact",
    "contains",
    "levenshtein",
    "bleu",
    "rouge_l",
    "json_equal",
];

/// Starts the experiment, follows it to its end and prints the totals; fails when the
/// experiment fails.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let server = args.server.trim_end_matches('/').to_owned();
    let spec = build_spec(&args)?;
    let client = reqwest::Client::new();

    let started = post_json(&client, &format!("{server}/api/v1/experiments"), &spec).await?;
    let id = started["id"]
        .as_str()
        .context("the server's response has no experiment id")?
        .to_owned();
    let dataset = get_json(
        &client,
        &format!("{server}/api/v1/datasets/{}", encode_segment(&args.dataset)),
    )
    .await?;
    let total = dataset["item_count"].as_u64().unwrap_or(0);

    let bar = progress_bar(total);
    let detail = loop {
        let detail = get_json(&client, &format!("{server}/api/v1/experiments/{id}")).await?;
        let experiment = &detail["experiment"];
        bar.set_position(experiment["totals"]["items"].as_u64().unwrap_or(0));
        if experiment["status"] != "running" {
            break detail;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    bar.finish_and_clear();

    print_summary(&server, &detail["experiment"]);
    if detail["experiment"]["status"] == "failed" {
        bail!(
            "experiment {id} failed: {}",
            detail["experiment"]["error"]
                .as_str()
                .unwrap_or("no reason given")
        );
    }
    let totals = &detail["experiment"]["totals"];
    let items = totals["items"].as_u64().unwrap_or(0);
    if items > 0 && totals["errors"].as_u64() == Some(items) {
        let first = detail["results"][0]["error"]
            .as_str()
            .unwrap_or("no reason given");
        bail!("every item of experiment {id} failed; the first: {first}");
    }
    Ok(())
}

/// Builds the request: the `--spec` file, then the flags over it.
fn build_spec(args: &RunArgs) -> anyhow::Result<Value> {
    let mut spec = match &args.spec {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("failed to read {}", path.display()))?;
            serde_json::from_str::<Value>(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?
        }
        None => json!({}),
    };
    if !spec.is_object() {
        bail!("the --spec file must hold a JSON object");
    }
    spec["dataset"] = json!(args.dataset);
    let settings = [
        ("model", &args.model),
        ("upstream", &args.upstream),
        ("api_key_env", &args.api_key_env),
        ("name", &args.name),
    ];
    for (key, value) in settings {
        if let Some(value) = value {
            spec[key] = json!(value);
        }
    }
    if args.replay {
        spec["mode"] = json!("replay");
    }
    if let Some(concurrency) = args.concurrency {
        spec["concurrency"] = json!(concurrency);
    }
    if let Some(model) = &args.judge_model {
        spec["judge"] =
            json!({"model": model, "api_key_env": args.api_key_env, "upstream": args.upstream});
    }
    set_scorers(&mut spec, &args.scorers)?;
    Ok(spec)
}

fn set_scorers(spec: &mut Value, scorers: &[String]) -> anyhow::Result<()> {
    for scorer in scorers {
        if !SIMPLE_SCORERS.contains(&scorer.as_str()) {
            bail!(
                "--scorer {scorer:?} is not one of {}; give scorers with settings in a --spec file",
                SIMPLE_SCORERS.join(", ")
            );
        }
    }
    if !scorers.is_empty() {
        spec["scorers"] = scorers.iter().map(|kind| json!({"type": kind})).collect();
    } else if spec.get("scorers").is_none() {
        spec["scorers"] = json!([{"type": "exact", "trim": true}, {"type": "levenshtein"}]);
    }
    Ok(())
}

async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<Value> {
    let response =
        client.post(url).json(body).send().await.with_context(|| {
            format!("failed to reach {url}; is `glassbox serve` running there?")
        })?;
    read_json(response, url).await
}

async fn get_json(client: &reqwest::Client, url: &str) -> anyhow::Result<Value> {
    let response =
        client.get(url).send().await.with_context(|| {
            format!("failed to reach {url}; is `glassbox serve` running there?")
        })?;
    read_json(response, url).await
}

/// Returns the body of a successful response, or the server's error message.
async fn read_json(response: reqwest::Response, url: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("{url} did not return JSON (HTTP {status})"))?;
    if !status.is_success() {
        let message = body["error"]["message"]
            .as_str()
            .map_or_else(|| body.to_string(), str::to_owned);
        bail!("the server rejected the request (HTTP {status}): {message}");
    }
    Ok(body)
}

fn progress_bar(total: u64) -> ProgressBar {
    let style = ProgressStyle::with_template("experiment [{bar:32}] {pos}/{len} items, {eta} left")
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(total).with_style(style)
}

/// Encodes a dataset name for a URL path; names are letters, digits, `.`, `_` and `-`, so
/// only other characters are escaped.
fn encode_segment(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[expect(
    clippy::print_stdout,
    reason = "the command's result goes to standard output"
)]
fn print_summary(server: &str, experiment: &Value) {
    let totals = &experiment["totals"];
    println!(
        "experiment {} ({}): {}",
        experiment["id"].as_str().unwrap_or_default(),
        experiment["name"].as_str().unwrap_or_default(),
        experiment["status"].as_str().unwrap_or_default()
    );
    println!(
        "items: {}, errors: {}",
        totals["items"].as_u64().unwrap_or(0),
        totals["errors"].as_u64().unwrap_or(0)
    );
    if let Some(means) = totals["score_means"].as_object() {
        for (name, mean) in means {
            println!("  {name}: {:.3}", mean.as_f64().unwrap_or(f64::NAN));
        }
    }
    if let Some(cost) = totals["cost_usd"].as_f64() {
        println!("cost: ${cost:.6}");
    }
    if let (Some(p50), Some(p95)) = (
        totals["latency_p50_ms"].as_f64(),
        totals["latency_p95_ms"].as_f64(),
    ) {
        println!("latency: p50 {p50:.0} ms, p95 {p95:.0} ms");
    }
    println!(
        "results: {server}/api/v1/experiments/{}",
        experiment["id"].as_str().unwrap_or_default()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: RunArgs,
    }

    fn args(line: &[&str]) -> RunArgs {
        Wrapper::try_parse_from(std::iter::once("run").chain(line.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn flags_build_the_request() {
        let spec = build_spec(&args(&[
            "--dataset",
            "qa",
            "--model",
            "gpt-4o-mini",
            "--scorer",
            "bleu",
            "--scorer",
            "exact",
            "--judge-model",
            "gpt-4o",
            "--concurrency",
            "2",
        ]))
        .unwrap();
        assert_eq!(spec["dataset"], "qa");
        assert_eq!(spec["model"], "gpt-4o-mini");
        assert_eq!(
            spec["scorers"],
            json!([{"type": "bleu"}, {"type": "exact"}])
        );
        assert_eq!(spec["judge"]["model"], "gpt-4o");
        assert_eq!(spec["concurrency"], 2);
    }

    #[test]
    fn default_scorers_and_replay() {
        let spec = build_spec(&args(&["--dataset", "qa", "--replay"])).unwrap();
        assert_eq!(spec["mode"], "replay");
        assert_eq!(spec["scorers"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn scorer_with_settings_needs_a_spec_file() {
        let error = build_spec(&args(&[
            "--dataset",
            "qa",
            "--model",
            "m",
            "--scorer",
            "regex",
        ]))
        .unwrap_err()
        .to_string();
        assert!(error.contains("--spec"), "{error}");
    }

    #[test]
    fn model_is_required_without_replay() {
        let parsed = Wrapper::try_parse_from(["run", "--dataset", "qa"]);
        assert!(parsed.is_err());
    }

    #[test]
    fn dataset_names_are_encoded() {
        assert_eq!(encode_segment("qa-v1.2_x"), "qa-v1.2_x");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }
}
