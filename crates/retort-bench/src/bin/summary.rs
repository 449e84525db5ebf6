//! Reads criterion's estimates and prints the comparison as markdown: per backend, one row per
//! workload and N, one column per implementation, each cell the median and its ratio to the raw
//! driver. Optionally merges the SQLAlchemy script's JSON and writes one SVG bar chart of the
//! ratios per backend.
//!
//! ```text
//! summary [--criterion-dir DIR] [--backends sqlite,postgres] [--extra sqlalchemy.json]...
//!         [--svg-dir DIR]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use retort_bench::config::Backend;
use retort_bench::workload::Case;
use retort_bench::{retort_impl, BenchResult, BASELINE, IMPLEMENTATION_ORDER};
use serde_json::Value;

/// One median, wherever it came from.
#[derive(Debug, Clone)]
struct Measurement {
    workload: String,
    backend: String,
    n: u64,
    implementation: String,
    median_ns: f64,
}

struct Options {
    criterion_dir: PathBuf,
    backends: Option<Vec<String>>,
    extra: Vec<PathBuf>,
    svg_dir: Option<PathBuf>,
}

fn parse_args() -> BenchResult<Options> {
    let mut options = Options {
        criterion_dir: default_criterion_dir(),
        backends: None,
        extra: Vec::new(),
        svg_dir: None,
    };
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--criterion-dir" => options.criterion_dir = PathBuf::from(value()?),
            "--backends" => {
                let list = value()?;
                let names = list
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| Backend::parse(s).map(|b| b.name().to_owned()))
                    .collect::<BenchResult<_>>()?;
                options.backends = Some(names);
            }
            "--extra" => options.extra.push(PathBuf::from(value()?)),
            "--svg-dir" => options.svg_dir = Some(PathBuf::from(value()?)),
            "-h" | "--help" => {
                println!(
                    "summary [--criterion-dir DIR] [--backends LIST] [--extra FILE.json]... \
                     [--svg-dir DIR]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)").into()),
        }
    }
    Ok(options)
}

/// `$CARGO_TARGET_DIR/criterion`, else the workspace's `target/criterion`.
fn default_criterion_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("criterion"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/criterion"),
    }
}

fn read_json(path: &Path) -> BenchResult<Value> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Every `<bench>/new/` directory under `dir`, read as one measurement.
fn criterion_measurements(dir: &Path, out: &mut Vec<Measurement>) -> BenchResult<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display()).into()),
    };
    for entry in entries {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let benchmark = path.join("benchmark.json");
            let estimates = path.join("estimates.json");
            if benchmark.is_file() && estimates.is_file() {
                if let Some(m) = criterion_measurement(&benchmark, &estimates)? {
                    out.push(m);
                }
            }
        } else if path
            .file_name()
            .is_some_and(|n| n != "report" && n != "base")
        {
            criterion_measurements(&path, out)?;
        }
    }
    Ok(())
}

/// Reads one benchmark; ids not of the `<workload>/<backend>` shape are someone else's.
fn criterion_measurement(benchmark: &Path, estimates: &Path) -> BenchResult<Option<Measurement>> {
    let id = read_json(benchmark)?;
    let (Some(group), Some(function), Some(value)) = (
        id["group_id"].as_str(),
        id["function_id"].as_str(),
        id["value_str"].as_str(),
    ) else {
        return Ok(None);
    };
    let Some((workload, backend)) = group.split_once('/') else {
        return Ok(None);
    };
    let Ok(n) = value.parse() else {
        return Ok(None);
    };
    let median = read_json(estimates)?["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no median.point_estimate", estimates.display()))?;
    Ok(Some(Measurement {
        workload: workload.to_owned(),
        backend: backend.to_owned(),
        n,
        implementation: function.to_owned(),
        median_ns: median,
    }))
}

/// The SQLAlchemy script's output: a list of objects with the same five fields.
fn extra_measurements(path: &Path, out: &mut Vec<Measurement>) -> BenchResult<()> {
    let json = read_json(path)?;
    let rows = json
        .as_array()
        .ok_or_else(|| format!("{}: expected a JSON list", path.display()))?;
    for row in rows {
        let field = |name: &str| {
            row[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{}: entry without `{name}`", path.display()))
        };
        out.push(Measurement {
            workload: field("workload")?,
            backend: field("backend")?,
            implementation: field("implementation")?,
            n: row["n"]
                .as_u64()
                .ok_or_else(|| format!("{}: entry without `n`", path.display()))?,
            median_ns: row["median_ns"]
                .as_f64()
                .ok_or_else(|| format!("{}: entry without `median_ns`", path.display()))?,
        });
    }
    Ok(())
}

/// Medians by backend, then (workload, N), then implementation.
type Table = BTreeMap<String, BTreeMap<(usize, u64), BTreeMap<String, f64>>>;

fn workload_rank(workload: &str) -> usize {
    let order: Vec<&str> = Case::all().iter().map(Case::name).collect();
    order
        .iter()
        .position(|w| *w == workload)
        .unwrap_or(order.len())
}

fn workload_name(rank: usize, names: &BTreeMap<usize, String>) -> &str {
    names.get(&rank).map_or("?", String::as_str)
}

fn backend_rank(backend: &str) -> (usize, String) {
    let order = ["sqlite", "postgres", "mysql"];
    let rank = order
        .iter()
        .position(|b| *b == backend)
        .unwrap_or(order.len());
    (rank, backend.to_owned())
}

/// Implementation columns: the known ones in [`IMPLEMENTATION_ORDER`] (retort's always, as
/// pending until measured, or `–` where the implementation does not run the workload), then
/// any others by name.
fn columns(measurements: &[Measurement]) -> Vec<String> {
    let present: BTreeSet<&str> = measurements
        .iter()
        .map(|m| m.implementation.as_str())
        .collect();
    let mut columns: Vec<String> = IMPLEMENTATION_ORDER
        .iter()
        .filter(|name| present.contains(**name) || retort_impl::NAMES.contains(*name))
        .map(|name| (*name).to_owned())
        .collect();
    for name in present {
        if !IMPLEMENTATION_ORDER.contains(&name) {
            columns.push(name.to_owned());
        }
    }
    columns
}

fn format_duration(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn markdown(table: &Table, names: &BTreeMap<usize, String>, columns: &[String]) -> String {
    let mut out = String::new();
    let mut backends: Vec<&String> = table.keys().collect();
    backends.sort_by_key(|b| backend_rank(b));
    for backend in backends {
        let driver = Backend::parse(backend).map_or("?", Backend::raw_driver);
        let _ = writeln!(
            out,
            "### {backend}\n\nMedian time per workload run; in brackets the ratio to the raw \
             driver ({driver}). Lower is faster.\n"
        );
        let _ = writeln!(out, "| workload | N | {} |", columns.join(" | "));
        let _ = writeln!(out, "|---|---:|{}", "---:|".repeat(columns.len()));
        for ((rank, n), row) in &table[backend] {
            let workload = workload_name(*rank, names);
            let baseline = row.get(BASELINE).copied();
            let cells: Vec<String> = columns
                .iter()
                .map(|column| match (row.get(column), baseline) {
                    (Some(median), _) if column == BASELINE => format_duration(*median),
                    (Some(median), Some(base)) => {
                        format!("{} ({:.2}×)", format_duration(*median), median / base)
                    }
                    (Some(median), None) => format_duration(*median),
                    (None, _) if retort_impl::runs(column, workload) => "pending".to_owned(),
                    (None, _) => "–".to_owned(),
                })
                .collect();
            let _ = writeln!(out, "| {workload} | {n} | {} |", cells.join(" | "));
        }
        out.push('\n');
    }
    out
}

/// Colours by position in [`IMPLEMENTATION_ORDER`], so an implementation keeps its colour
/// whichever others are present; the last is for implementations not in that list.
const PALETTE: &[&str] = &[
    "#7f7f7f", "#d62728", "#ff7f0e", "#ffbb78", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2",
];

fn colour(implementation: &str) -> &'static str {
    let index = IMPLEMENTATION_ORDER
        .iter()
        .position(|name| *name == implementation)
        .unwrap_or(PALETTE.len() - 1);
    PALETTE[index.min(PALETTE.len() - 1)]
}

/// One bar chart per backend: for each workload its largest N, one bar per implementation with
/// its ratio to the raw driver on a log scale, and a line at 1× for the driver itself.
fn svg_chart(
    backend: &str,
    rows: &BTreeMap<(usize, u64), BTreeMap<String, f64>>,
    names: &BTreeMap<usize, String>,
    columns: &[String],
) -> Option<String> {
    // The largest N of each workload.
    let mut main: BTreeMap<usize, (u64, &BTreeMap<String, f64>)> = BTreeMap::new();
    for ((rank, n), row) in rows {
        if row.contains_key(BASELINE) {
            main.insert(*rank, (*n, row));
        }
    }
    let series: Vec<&String> = columns
        .iter()
        .filter(|c| c.as_str() != BASELINE)
        .filter(|c| main.values().any(|(_, row)| row.contains_key(c.as_str())))
        .collect();
    if main.is_empty() || series.is_empty() {
        return None;
    }
    let ratios: Vec<f64> = main
        .values()
        .flat_map(|(_, row)| {
            let base = row[BASELINE];
            series
                .iter()
                .filter_map(move |c| row.get(c.as_str()).map(|m| m / base))
        })
        .collect();
    let hi = ratios.iter().copied().fold(2.0_f64, f64::max) * 1.4;
    let lo = ratios.iter().copied().fold(0.5_f64, f64::min) / 1.2;

    let (width, height) = (960.0, 460.0);
    let (left, right, top, bottom) = (70.0, 20.0, 70.0, 70.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let y = |ratio: f64| top + (hi.log10() - ratio.log10()) / (hi.log10() - lo.log10()) * plot_h;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let driver = Backend::parse(backend).map_or("?", Backend::raw_driver);
    let _ = writeln!(
        svg,
        r#"<text x="{left}" y="22" font-size="15" font-weight="bold">{backend}: time relative to the raw driver ({driver} = 1×), log scale, lower is faster</text>"#
    );
    // Grid lines at 1-2-5 steps.
    let mut step = 10f64.powf(lo.log10().floor());
    while step <= hi {
        for factor in [1.0, 2.0, 5.0] {
            let value = step * factor;
            if value >= lo && value <= hi {
                let gy = y(value);
                let stroke = if (value - 1.0).abs() < 1e-9 {
                    "#000"
                } else {
                    "#ddd"
                };
                let _ = writeln!(
                    svg,
                    r#"<line x1="{left}" x2="{}" y1="{gy:.1}" y2="{gy:.1}" stroke="{stroke}"/><text x="{}" y="{:.1}" text-anchor="end">{value}×</text>"#,
                    width - right,
                    left - 6.0,
                    gy + 4.0
                );
            }
        }
        step *= 10.0;
    }
    // Legend: each entry as wide as its name (about 7 px a character at 12 px).
    let mut lx = left;
    for name in &series {
        let _ = writeln!(
            svg,
            r#"<rect x="{lx:.0}" y="36" width="12" height="12" fill="{}"/><text x="{:.0}" y="46">{name}</text>"#,
            colour(name),
            lx + 16.0
        );
        lx += 16.0 + 7.0 * name.len() as f64 + 20.0;
    }
    let group_w = plot_w / main.len() as f64;
    let bar_w = group_w * 0.8 / series.len() as f64;
    for (g, (rank, (n, row))) in main.iter().enumerate() {
        let gx = left + group_w * g as f64 + group_w * 0.1;
        let base = row[BASELINE];
        for (i, name) in series.iter().enumerate() {
            let Some(median) = row.get(name.as_str()) else {
                continue;
            };
            let ratio = median / base;
            let (bx, by) = (gx + bar_w * i as f64, y(ratio));
            let _ = writeln!(
                svg,
                r#"<rect x="{bx:.1}" y="{by:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{name}: {ratio:.2}×</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{ratio:.1}×</text>"#,
                bar_w - 2.0,
                (top + plot_h - by).max(0.0),
                colour(name),
                bx + bar_w / 2.0 - 1.0,
                by - 3.0
            );
        }
        let cx = left + group_w * (g as f64 + 0.5);
        let _ = writeln!(
            svg,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="{cx:.1}" y="{:.1}" text-anchor="middle" fill="dimgray">N = {n}</text>"#,
            top + plot_h + 18.0,
            workload_name(*rank, names),
            top + plot_h + 34.0
        );
    }
    let _ = writeln!(svg, "</svg>");
    Some(svg)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("summary: {e}");
        std::process::exit(1);
    }
}

fn run() -> BenchResult<()> {
    let options = parse_args()?;
    let mut measurements = Vec::new();
    criterion_measurements(&options.criterion_dir, &mut measurements)?;
    for path in &options.extra {
        extra_measurements(path, &mut measurements)?;
    }
    if let Some(backends) = &options.backends {
        measurements.retain(|m| backends.contains(&m.backend));
    }
    if measurements.is_empty() {
        return Err(format!(
            "no retort-bench results under {} (run the bench first)",
            options.criterion_dir.display()
        )
        .into());
    }
    let mut names = BTreeMap::new();
    let mut table = Table::new();
    for m in &measurements {
        let rank = workload_rank(&m.workload);
        names.insert(rank, m.workload.clone());
        table
            .entry(m.backend.clone())
            .or_default()
            .entry((rank, m.n))
            .or_default()
            .insert(m.implementation.clone(), m.median_ns);
    }
    let columns = columns(&measurements);
    print!("{}", markdown(&table, &names, &columns));
    if let Some(dir) = &options.svg_dir {
        fs::create_dir_all(dir)?;
        for (backend, rows) in &table {
            if let Some(svg) = svg_chart(backend, rows, &names, &columns) {
                let path = dir.join(format!("ratios-{backend}.svg"));
                fs::write(&path, svg)?;
                eprintln!("summary: wrote {}", path.display());
            }
        }
    }
    Ok(())
}
