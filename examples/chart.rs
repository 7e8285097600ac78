//! Draws the load harness's results as an SVG bar chart: median req/s per
//! phase, one bar per target, for README and BENCHMARKS.md.
//!
//! `cargo run --example chart --features chart -- results.json docs/benchmark.svg`

use std::collections::BTreeMap;

use plotters::prelude::*;
use serde_json::Value;

const PHASES: [&str; 5] = ["get", "post", "mix", "list", "health"];
const COLOURS: [RGBColor; 6] = [
    RGBColor(120, 120, 120),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

/// The harness's target names, spelled out for readers of the chart.
fn label(target: &str) -> String {
    match target {
        "floor" => "bare actix-web, no database (floor)".into(),
        "full" => "user-service on SQLite, durability full".into(),
        "normal" => "user-service on SQLite, durability normal".into(),
        "postgres" => "user-service on PostgreSQL 15".into(),
        "original" => "the original (Axum + SQLx + PostgreSQL 15)".into(),
        other => other.into(),
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args.next().ok_or("usage: chart RESULTS.json OUTPUT.svg")?;
    let output = args.next().ok_or("usage: chart RESULTS.json OUTPUT.svg")?;
    let data: Value = serde_json::from_str(&std::fs::read_to_string(input)?)?;
    let results = data["results"]
        .as_object()
        .ok_or("no results in the JSON")?;

    // target -> phase -> median req/s, targets in the harness's order.
    let mut medians: Vec<(String, BTreeMap<&str, f64>)> = Vec::new();
    for (target, runs) in results {
        let runs = runs.as_array().ok_or("runs must be a list")?;
        let mut by_phase = BTreeMap::new();
        for phase in PHASES {
            let values = runs
                .iter()
                .filter_map(|r| r[phase]["rps"].as_f64())
                .collect();
            if let Some(m) = median(values) {
                by_phase.insert(phase, m);
            }
        }
        medians.push((target.clone(), by_phase));
    }
    let top = medians
        .iter()
        .flat_map(|(_, m)| m.values().copied())
        .fold(0.0, f64::max)
        * 1.1;
    let targets = medians.len().max(1);

    let root = SVGBackend::new(&output, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let caption = format!(
        "req/s by phase (median of {} run(s), {} users, {} connections, one server core)",
        data["runs"], data["users"], data["connections"]
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(caption, ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(32)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..PHASES.len() as f64, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(PHASES.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 0.01 && i < PHASES.len() {
                PHASES[i].to_owned()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{:.0}k", y / 1000.0))
        .y_desc("requests per second")
        .draw()?;

    let width = 0.8 / targets as f64;
    for (t, (target, by_phase)) in medians.iter().enumerate() {
        let colour = COLOURS[t % COLOURS.len()];
        let bars = PHASES.iter().enumerate().filter_map(|(p, phase)| {
            by_phase.get(phase).map(|&rps| {
                let x0 = p as f64 + 0.1 + t as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width * 0.95, rps)], colour.filled())
            })
        });
        chart
            .draw_series(bars)?
            .label(label(target))
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    println!("wrote {output}");
    Ok(())
}
