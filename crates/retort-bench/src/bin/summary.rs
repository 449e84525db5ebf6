//! Reads criterion's estimates and prints the comparison as markdown: per backend, one row per
//! workload and N, one column per implementation, each cell the median, its spread and its
//! ratio to the raw driver. Optionally merges the SQLAlchemy script's JSON, adds the `memory`
//! bin's table, writes one SVG bar chart of the ratios per backend, and rewrites the results
//! part of `BENCHMARKS.md` (between [`BEGIN`] and [`END`]) with all of it, the machine's facts
//! and the run's date and commit.
//!
//! ```text
//! summary [--criterion-dir DIR] [--backends sqlite,postgres] [--extra sqlalchemy.json]...
//!         [--memory memory.json]... [--svg-dir DIR]
//!         [--publish BENCHMARKS.md --charts DIR --run 'run.sh ARGS' [--quick]]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use std::process::Command;

use retort_bench::config::{Backend, Target};
use retort_bench::workload::{Case, Sampling};
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
    /// The median absolute deviation of the runs (criterion's, scaled by 1.4826 so that it
    /// estimates the standard deviation of normal data), where known.
    mad_ns: Option<f64>,
}

/// The marker lines around the generated part of `BENCHMARKS.md`.
const BEGIN: &str = "<!-- results:begin -->";
/// See [`BEGIN`].
const END: &str = "<!-- results:end -->";

struct Options {
    criterion_dir: PathBuf,
    backends: Option<Vec<String>>,
    extra: Vec<PathBuf>,
    memory: Vec<PathBuf>,
    svg_dir: Option<PathBuf>,
    publish: Option<PathBuf>,
    charts: Option<PathBuf>,
    run: String,
    quick: bool,
}

fn parse_args() -> BenchResult<Options> {
    let mut options = Options {
        criterion_dir: default_criterion_dir(),
        backends: None,
        extra: Vec::new(),
        memory: Vec::new(),
        svg_dir: None,
        publish: None,
        charts: None,
        run: "run.sh".to_owned(),
        quick: false,
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
            "--memory" => options.memory.push(PathBuf::from(value()?)),
            "--svg-dir" => options.svg_dir = Some(PathBuf::from(value()?)),
            "--publish" => options.publish = Some(PathBuf::from(value()?)),
            "--charts" => options.charts = Some(PathBuf::from(value()?)),
            "--run" => options.run = value()?,
            "--quick" => options.quick = true,
            "-h" | "--help" => {
                println!(
                    "summary [--criterion-dir DIR] [--backends LIST] [--extra FILE.json]... \
                     [--memory FILE.json]... [--svg-dir DIR] \
                     [--publish BENCHMARKS.md --charts DIR --run 'run.sh ARGS' [--quick]]"
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
    let estimates_json = read_json(estimates)?;
    let median = estimates_json["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no median.point_estimate", estimates.display()))?;
    Ok(Some(Measurement {
        workload: workload.to_owned(),
        backend: backend.to_owned(),
        n,
        implementation: function.to_owned(),
        median_ns: median,
        mad_ns: estimates_json["median_abs_dev"]["point_estimate"].as_f64(),
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
            mad_ns: row["mad_ns"].as_f64(),
        });
    }
    Ok(())
}

/// Medians by backend, then (workload, N), then implementation.
type Table = BTreeMap<String, BTreeMap<(usize, u64), BTreeMap<String, f64>>>;

/// Spreads (median absolute deviation over median) by backend, (workload, N), implementation.
type Spreads = BTreeMap<(String, (usize, u64), String), f64>;

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
    let order = ["sqlite", "sqlite-memory", "postgres", "mysql"];
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

/// ` ±3%`: the spread as a share of the median, where known.
fn format_spread(spread: Option<f64>) -> String {
    match spread {
        Some(s) if s < 0.01 => " ±<1%".to_owned(),
        Some(s) => format!(" ±{:.0}%", s * 100.0),
        None => String::new(),
    }
}

fn backend_title(backend: &str) -> String {
    match Backend::parse(backend) {
        Ok(Backend::Sqlite) => "SQLite, WAL file".to_owned(),
        Ok(Backend::SqliteMemory) => "SQLite in memory".to_owned(),
        Ok(Backend::Postgres) => "PostgreSQL".to_owned(),
        Ok(Backend::Mysql) => "MariaDB".to_owned(),
        Err(_) => backend.to_owned(),
    }
}

fn markdown(
    table: &Table,
    spreads: &Spreads,
    names: &BTreeMap<usize, String>,
    columns: &[String],
) -> String {
    let mut out = String::new();
    let mut backends: Vec<&String> = table.keys().collect();
    backends.sort_by_key(|b| backend_rank(b));
    for backend in backends {
        let driver = Backend::parse(backend).map_or("?", Backend::raw_driver);
        let _ = writeln!(
            out,
            "### {} (ratios to {driver})\n\nMedian time per workload run ± the runs' median \
             absolute deviation as a share of the median; in brackets the ratio to the raw \
             driver. Lower is faster.\n",
            backend_title(backend)
        );
        let _ = writeln!(out, "| workload | N | {} |", columns.join(" | "));
        let _ = writeln!(out, "|---|---:|{}", "---:|".repeat(columns.len()));
        for ((rank, n), row) in &table[backend] {
            let workload = workload_name(*rank, names);
            let baseline = row.get(BASELINE).copied();
            let spread =
                |column: &String| spreads.get(&(backend.clone(), (*rank, *n), column.clone()));
            let cells: Vec<String> = columns
                .iter()
                .map(|column| match (row.get(column), baseline) {
                    (Some(median), _) if column == BASELINE => {
                        format!(
                            "{}{}",
                            format_duration(*median),
                            format_spread(spread(column).copied())
                        )
                    }
                    (Some(median), Some(base)) => format!(
                        "{}{} ({:.2}×)",
                        format_duration(*median),
                        format_spread(spread(column).copied()),
                        median / base
                    ),
                    (Some(median), None) => format!(
                        "{}{}",
                        format_duration(*median),
                        format_spread(spread(column).copied())
                    ),
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
    let mut spreads = Spreads::new();
    for m in &measurements {
        let rank = workload_rank(&m.workload);
        names.insert(rank, m.workload.clone());
        table
            .entry(m.backend.clone())
            .or_default()
            .entry((rank, m.n))
            .or_default()
            .insert(m.implementation.clone(), m.median_ns);
        if let Some(mad) = m.mad_ns.filter(|_| m.median_ns > 0.0) {
            spreads.insert(
                (m.backend.clone(), (rank, m.n), m.implementation.clone()),
                mad / m.median_ns,
            );
        }
    }
    let columns = columns(&measurements);
    let mut results = markdown(&table, &spreads, &names, &columns);
    if !options.memory.is_empty() {
        let mut rows = Vec::new();
        for path in &options.memory {
            match read_json(path)? {
                Value::Array(list) => rows.extend(list),
                _ => return Err(format!("{}: expected a JSON list", path.display()).into()),
            }
        }
        results.push_str(&memory_markdown(&Value::Array(rows))?);
    }
    print!("{results}");
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
    if let Some(path) = &options.publish {
        let mut backends: Vec<&String> = table.keys().collect();
        backends.sort_by_key(|b| backend_rank(b));
        let section = published_section(&options, &backends, &results)?;
        let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        fs::write(path, replace_between_markers(&text, &section)?)?;
        eprintln!("summary: rewrote the results in {}", path.display());
    }
    Ok(())
}

/// The memory tables, one per mode (entries without one are loads): one row per library, one
/// column per backend, each cell the peak heap growth with its ratio to the raw driver, then
/// the peak resident set growth.
fn memory_markdown(json: &Value) -> BenchResult<String> {
    let rows = json.as_array().ok_or("memory JSON: expected a list")?;
    let mut out = String::new();
    for mode in ["load", "stream"] {
        let entries: Vec<&Value> = rows
            .iter()
            .filter(|row| row["mode"].as_str().unwrap_or("load") == mode)
            .collect();
        if !entries.is_empty() {
            out.push_str(&memory_table(mode, &entries)?);
        }
    }
    Ok(out)
}

/// The memory table of one mode's `entries`.
fn memory_table(mode: &str, entries: &[&Value]) -> BenchResult<String> {
    // (backend, implementation) -> (heap peak, RSS growth, VmHWM, rows)
    let mut figures: BTreeMap<(String, String), (f64, f64, f64, u64)> = BTreeMap::new();
    for row in entries {
        let text = |name: &str| {
            row[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("memory JSON: entry without `{name}`"))
        };
        let number = |name: &str| {
            row[name]
                .as_f64()
                .ok_or_else(|| format!("memory JSON: entry without `{name}`"))
        };
        figures.insert(
            (text("backend")?, text("implementation")?),
            (
                number("heap_peak_bytes")?,
                number("rss_growth_bytes")?,
                number("vm_hwm_bytes")?,
                row["rows"].as_u64().unwrap_or(0),
            ),
        );
    }
    let mut backends: Vec<String> = figures.keys().map(|(b, _)| b.clone()).collect();
    backends.sort_by_key(|b| backend_rank(b));
    backends.dedup();
    let mut implementations: Vec<String> = figures.keys().map(|(_, i)| i.clone()).collect();
    implementations.sort_by_key(|i| {
        IMPLEMENTATION_ORDER
            .iter()
            .position(|o| o == i)
            .unwrap_or(IMPLEMENTATION_ORDER.len())
    });
    implementations.dedup();
    let loaded = thousands(figures.values().map(|f| f.3).max().unwrap_or(0));
    let mib = |bytes: f64| bytes / (1024.0 * 1024.0);
    let mut out = String::new();
    if mode == "stream" {
        let _ = writeln!(
            out,
            "### Peak memory, streaming {loaded} users\n\nThe same, but each library reads \
             every user through its `stream_query` code and drops each as it comes (retort's \
             ORM: `session.stream(&User::select(), 1000)`); the figures are taken after the \
             last row. The heap is in KiB, without ratios: the raw drivers' is a few hundred \
             bytes. The RSS figures also see what the C client libraries buffer (Diesel \
             reads PostgreSQL and MariaDB through libpq and libmariadb).\n"
        );
    } else {
        let _ = writeln!(
            out,
            "### Peak memory, loading {loaded} users\n\nOne fresh process per library and \
             backend loads every user with its `trivial_query` code and holds the result. \
             **Heap**: the peak of the bytes allocated through Rust's allocator (SQLAlchemy: \
             traced by `tracemalloc`, in a process of its own) during the load, less those \
             live before it, in MiB, with the ratio to the raw driver. **RSS**: how much the \
             resident set grew during the load (it also sees the C libraries' allocations: \
             SQLite's page cache, libpq's and libmariadb's result buffers under Diesel) / the \
             process's peak resident set (`VmHWM`). On SQLite in memory the process holds the \
             database and seeded it itself, so its RSS growth is lower (seeding left freed \
             memory to reuse) and its `VmHWM` higher.\n"
        );
    }
    let titles: Vec<String> = backends.iter().map(|b| backend_title(b)).collect();
    let _ = writeln!(out, "| library | {} |", titles.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(backends.len()));
    for implementation in &implementations {
        let cells: Vec<String> = backends
            .iter()
            .map(|backend| {
                let key = (backend.clone(), implementation.clone());
                let Some(&(heap, rss, hwm, _)) = figures.get(&key) else {
                    return "–".to_owned();
                };
                // A stream's heap is kilobytes, next to nothing for the raw driver: a ratio
                // would say nothing.
                if mode == "stream" {
                    return format!(
                        "heap {:.0} KiB<br>RSS {:.1} / {:.1}",
                        heap / 1024.0,
                        mib(rss),
                        mib(hwm)
                    );
                }
                let ratio = figures
                    .get(&(backend.clone(), BASELINE.to_owned()))
                    .filter(|_| implementation != BASELINE)
                    .map_or(String::new(), |base| format!(" ({:.2}×)", heap / base.0));
                format!(
                    "heap {:.1}{ratio}<br>RSS {:.1} / {:.1}",
                    mib(heap),
                    mib(rss),
                    mib(hwm)
                )
            })
            .collect();
        let _ = writeln!(out, "| {implementation} | {} |", cells.join(" | "));
    }
    out.push('\n');
    Ok(out)
}

/// `100000` as `100 000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

/// Runs a command and returns its trimmed standard output, if it ran.
fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The commit measured: `git rev-parse --short HEAD`, `-dirty` with uncommitted changes other
/// than the files publishing writes (this file's results and the charts, copied before it).
fn commit() -> String {
    let Some(head) = command_output("git", &["rev-parse", "--short", "HEAD"]) else {
        return "unknown".to_owned();
    };
    let status = [
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        ".",
        ":(exclude)BENCHMARKS.md",
        ":(exclude)crates/retort-bench/results",
    ];
    match command_output("git", &status) {
        Some(changes) if changes.is_empty() => head,
        _ => format!("{head}-dirty"),
    }
}

/// `field: value` of a `/proc` file.
fn proc_field(path: &str, field: &str) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == field).then(|| value.trim().to_owned())
    })
}

/// The servers' versions, asked of the bench databases the run used.
fn server_versions(backends: &[&String]) -> Vec<String> {
    let mut versions = Vec::new();
    for backend in backends {
        let Ok(backend) = Backend::parse(backend) else {
            continue;
        };
        let Ok(target) = Target::locate(backend) else {
            continue;
        };
        let version = match backend {
            Backend::Postgres => postgres::Client::connect(&target.url, postgres::NoTls)
                .and_then(|mut c| c.query_one("SHOW server_version", &[]))
                .ok()
                .map(|row| format!("PostgreSQL {}", row.get::<_, String>(0))),
            Backend::Mysql => {
                use mysql::prelude::Queryable;
                target
                    .mysql_opts()
                    .ok()
                    .and_then(|opts| mysql::Conn::new(opts).ok())
                    .and_then(|mut c| c.query_first::<String, _>("SELECT VERSION()").ok())
                    .flatten()
                    .map(|v| format!("MariaDB / MySQL {v}"))
            }
            Backend::Sqlite | Backend::SqliteMemory => None,
        };
        versions.extend(version);
    }
    versions
}

fn machine_markdown(backends: &[&String]) -> String {
    let cpu = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = proc_field("/proc/meminfo", "MemTotal")
        .and_then(|kib| kib.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or("unknown".to_owned(), |kib| {
            format!("{:.0} GiB", kib / (1024.0 * 1024.0))
        });
    let os = fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_owned())
            })
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_owned(), |k| k.trim().to_owned());
    let rustc = command_output("rustc", &["--version"]).unwrap_or_else(|| "unknown".to_owned());
    let mut out = String::from("| | |\n|---|---|\n");
    let _ = writeln!(out, "| CPU | {cpu}, {cores} cores |");
    let _ = writeln!(out, "| memory | {memory} |");
    let _ = writeln!(out, "| OS | {os}, Linux {kernel} |");
    let _ = writeln!(out, "| Rust | {rustc}, `cargo bench` profile (release) |");
    let servers = server_versions(backends);
    if !servers.is_empty() {
        let _ = writeln!(
            out,
            "| servers | {}, on the same machine; every client over TCP to 127.0.0.1 without \
             TLS |",
            servers.join(", ")
        );
    }
    out
}

fn describe_sampling(sampling: &Sampling) -> String {
    format!(
        "{} samples, {:.1} s warm-up, {:.1} s measurement, {} sampling",
        sampling.sample_size,
        sampling.warm_up.as_secs_f64(),
        sampling.measurement.as_secs_f64(),
        if sampling.flat {
            "flat"
        } else {
            "linear (flat where linear would take twice as long)"
        }
    )
}

/// The generated part of `BENCHMARKS.md`, markers excluded.
fn published_section(
    options: &Options,
    backends: &[&String],
    results: &str,
) -> BenchResult<String> {
    let date = command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
        .unwrap_or_else(|| "unknown date".to_owned());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!-- Written by `crates/retort-bench/run.sh --publish`; edits here are overwritten. -->\n"
    );
    let _ = writeln!(out, "## Latest results\n");
    let _ = writeln!(out, "{date}, commit `{}`, `{}`.\n", commit(), options.run);
    if options.quick {
        let _ = writeln!(
            out,
            "Quick run ({}): to try the scripts out, not to compare.\n",
            describe_sampling(&Sampling::QUICK)
        );
    } else {
        let _ = writeln!(
            out,
            "Criterion per workload: runs of microseconds (`trivial_query` N = 1 and 100, \
             `insert` 100) {}; runs of milliseconds (the rest) {}, so the slowest \
             implementation still gets its samples without running for minutes. SQLAlchemy: the \
             median of at least 10 runs and 3 s.\n",
            describe_sampling(&Sampling::FAST),
            describe_sampling(&Sampling::SLOW)
        );
    }
    let _ = writeln!(out, "### Machine\n\n{}", machine_markdown(backends));
    let _ = writeln!(
        out,
        "`retort_orm` loads relationships with `selectinload`, `retort_orm_joined` with \
         `joinedload` (it runs only the two relationship workloads).\n"
    );
    out.push_str(results);
    if let Some(charts) = &options.charts {
        let _ = writeln!(out, "### Charts\n");
        let _ = writeln!(
            out,
            "Time relative to the raw driver for the largest N of each workload, log scale.\n"
        );
        if let Some((backend, png)) = backends
            .iter()
            .map(|b| (b, charts.join(format!("ratios-{b}.png"))))
            .find(|(_, png)| png.is_file())
        {
            let _ = writeln!(
                out,
                "![{}: time relative to the raw driver, log scale]({})\n",
                backend_title(backend),
                link(&png)
            );
        }
        for backend in backends {
            let svg = charts.join(format!("ratios-{backend}.svg"));
            let png = charts.join(format!("ratios-{backend}.png"));
            if png.is_file() {
                let _ = writeln!(
                    out,
                    "- {}: [PNG]({}), [SVG]({})",
                    backend_title(backend),
                    link(&png),
                    link(&svg)
                );
            } else if svg.is_file() {
                let _ = writeln!(out, "- {}: [SVG]({})", backend_title(backend), link(&svg));
            }
        }
        out.push('\n');
    }
    Ok(out)
}

/// A path as a link from the repository root, where `BENCHMARKS.md` is.
fn link(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    path.strip_prefix(&root)
        .unwrap_or(&path)
        .to_string_lossy()
        .into_owned()
}

/// `text` with the lines between the [`BEGIN`] and [`END`] marker lines replaced by `section`.
fn replace_between_markers(text: &str, section: &str) -> BenchResult<String> {
    let begin = text
        .find(BEGIN)
        .ok_or_else(|| format!("no `{BEGIN}` line to write the results after"))?;
    let after_begin = begin + BEGIN.len();
    let end = text[after_begin..]
        .find(END)
        .map(|i| after_begin + i)
        .ok_or_else(|| format!("no `{END}` line after `{BEGIN}`"))?;
    Ok(format!(
        "{}\n{}{}",
        &text[..after_begin],
        section,
        &text[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_text_between_the_markers_is_replaced() {
        let text = format!("intro\n{BEGIN}\nold numbers\n{END}\nanalysis\n");
        let new = replace_between_markers(&text, "new numbers\n").unwrap();
        assert_eq!(
            new,
            format!("intro\n{BEGIN}\nnew numbers\n{END}\nanalysis\n")
        );
        // Rewriting again gives the same file.
        assert_eq!(replace_between_markers(&new, "new numbers\n").unwrap(), new);
        assert!(replace_between_markers("no markers", "x").is_err());
        assert!(replace_between_markers(&format!("{END}\n{BEGIN}\n"), "x").is_err());
    }

    #[test]
    fn thousands_are_spaced() {
        assert_eq!(thousands(100_000), "100 000");
        assert_eq!(thousands(1_234_567), "1 234 567");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn spreads_print_as_shares_of_the_median() {
        assert_eq!(format_spread(Some(0.034)), " ±3%");
        assert_eq!(format_spread(Some(0.004)), " ±<1%");
        assert_eq!(format_spread(None), "");
    }

    #[test]
    fn memory_table_gives_ratios_to_the_raw_driver() {
        let json: Value = serde_json::from_str(
            r#"[{"backend": "sqlite", "implementation": "raw", "rows": 10,
                 "heap_peak_bytes": 1048576, "rss_growth_bytes": 2097152, "vm_hwm_bytes": 4194304},
                {"backend": "sqlite", "implementation": "retort_orm", "rows": 10,
                 "heap_peak_bytes": 3145728, "rss_growth_bytes": 2097152, "vm_hwm_bytes": 4194304}]"#,
        )
        .unwrap();
        let table = memory_markdown(&json).unwrap();
        assert!(
            table.contains("| raw | heap 1.0<br>RSS 2.0 / 4.0 |"),
            "{table}"
        );
        assert!(
            table.contains("| retort_orm | heap 3.0 (3.00×)<br>"),
            "{table}"
        );
        assert!(!table.contains("streaming"), "{table}");
    }

    #[test]
    fn streamed_figures_get_a_table_of_their_own() {
        let json: Value = serde_json::from_str(
            r#"[{"backend": "sqlite", "implementation": "raw", "mode": "load", "rows": 10,
                 "heap_peak_bytes": 4194304, "rss_growth_bytes": 0, "vm_hwm_bytes": 0},
                {"backend": "sqlite", "implementation": "raw", "mode": "stream", "rows": 10,
                 "heap_peak_bytes": 1048576, "rss_growth_bytes": 0, "vm_hwm_bytes": 0},
                {"backend": "sqlite", "implementation": "retort_orm", "mode": "stream",
                 "rows": 10, "heap_peak_bytes": 2097152, "rss_growth_bytes": 0,
                 "vm_hwm_bytes": 0}]"#,
        )
        .unwrap();
        let tables = memory_markdown(&json).unwrap();
        let (load, stream) = tables.split_once("### Peak memory, streaming").unwrap();
        assert!(load.contains("| raw | heap 4.0<br>"), "{tables}");
        assert!(stream.contains("| raw | heap 1024 KiB<br>"), "{tables}");
        assert!(
            stream.contains("| retort_orm | heap 2048 KiB<br>"),
            "{tables}"
        );
    }
}
