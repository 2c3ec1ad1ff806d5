//! SVG plots of a run (plotters' SVG backend): latency percentiles per system, and server CPU
//! per delivery per system beside the floor.

use std::path::Path;

use plotters::prelude::*;

use crate::fanout::FanoutRun;
use crate::report::FloorRun;

const COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
];

/// Grouped bars: one group per label, one bar per series.
fn grouped_bars(
    path: &Path,
    title: &str,
    y_label: &str,
    labels: &[String],
    series: &[(&str, Vec<f64>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let top = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.15;
    let root = SVGBackend::new(path, (960, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let groups = labels.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..groups as f64, 0f64..top)?;
    let label_of = |x: &f64| {
        let i = x.floor() as usize;
        if (x - x.floor() - 0.5).abs() < 1e-6 {
            labels.get(i).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(groups * 2 + 1)
        .x_label_formatter(&label_of)
        .y_desc(y_label)
        .draw()?;
    let width = 0.8 / series.len().max(1) as f64;
    for (s, (name, values)) in series.iter().enumerate() {
        let color = COLORS[s % COLORS.len()];
        chart
            .draw_series(values.iter().enumerate().map(|(g, v)| {
                let x0 = g as f64 + 0.1 + s as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width * 0.9, *v)], color.filled())
            }))?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// `latency.svg`: p50, p90, p99 per system for each load; `cpu.svg`: server CPU µs per
/// delivery per system, paced and flat out, the floor's one write per frame beside.
pub fn write(
    dir: &Path,
    fanout: &[FanoutRun],
    floor: &[FloorRun],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut modes: Vec<&str> = fanout.iter().map(|f| f.mode.as_str()).collect();
    modes.dedup();
    for (i, mode) in modes.iter().enumerate() {
        let runs: Vec<&FanoutRun> = fanout.iter().filter(|f| f.mode == *mode).collect();
        let labels: Vec<String> = runs.iter().map(|f| f.peer.clone()).collect();
        let pick = |g: fn(&FanoutRun) -> f64| runs.iter().map(|f| g(f)).collect::<Vec<_>>();
        grouped_bars(
            &dir.join(format!(
                "latency-{}.svg",
                if i == 0 { "paced" } else { "flat-out" }
            )),
            &format!("publish-to-deliver latency, {mode} (lower is better)"),
            "ms",
            &labels,
            &[
                ("p50", pick(|f| f.p50_ms)),
                ("p90", pick(|f| f.p90_ms)),
                ("p99", pick(|f| f.p99_ms)),
            ],
        )?;
    }
    let mut labels: Vec<String> = Vec::new();
    for f in fanout {
        if !labels.contains(&f.peer) {
            labels.push(f.peer.clone());
        }
    }
    let per = |paced: bool| {
        labels
            .iter()
            .map(|peer| {
                fanout
                    .iter()
                    .find(|f| &f.peer == peer && f.mode.starts_with("flat") != paced)
                    .map_or(0.0, |f| f.cpu_us_per_delivery)
            })
            .collect::<Vec<_>>()
    };
    let (paced, flat) = (per(true), per(false));
    let mut series = vec![("paced", paced), ("flat out", flat)];
    labels.push("floor (bare write)".into());
    let floor_of = |p: bool| {
        floor
            .iter()
            .find(|f| f.coalesce == 1 && (f.rate > 0) == p)
            .map_or(0.0, |f| f.cpu_us_per_frame)
    };
    series[0].1.push(floor_of(true));
    series[1].1.push(floor_of(false));
    grouped_bars(
        &dir.join("cpu.svg"),
        "server CPU per delivery (lower is better)",
        "µs",
        &labels,
        &series,
    )
}
