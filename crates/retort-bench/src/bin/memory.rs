//! Peak memory of loading 100 000 users, per library and backend.
//!
//! ```text
//! memory [--backends sqlite,postgres] [--rows 100000] [--json FILE]
//! ```
//!
//! For each backend the parent seeds `users` once, then starts a fresh child process per
//! library and mode (`memory --child <implementation> <backend> <rows> <mode>`), so no library
//! inherits another's allocations or a warmed-up allocator. The child opens its connection,
//! then either loads every user with the library's `trivial_query` code (mode `load`; retort's
//! ORM: a fresh Session and `session.query::<User>().all()`) and, while the result is still
//! held, records what follows; or reads every user through its `stream_query` code, dropping
//! each as it comes (mode `stream`; retort's ORM: `session.stream(.., 1000)`), and records it
//! afterwards:
//!
//! - the peak of the bytes allocated through Rust's global allocator during the load, minus
//!   those live before it (`peak_alloc`'s counting wrapper around `System`, which counts a
//!   reallocation as a new block plus the old one until the copy is done);
//! - the growth of the resident set during the load (`/proc/self/clear_refs` resets the peak,
//!   then `VmHWM` minus the `VmRSS` before), which also sees the C libraries' own allocations
//!   (SQLite's page cache, libpq's and libmariadb's result buffers under Diesel);
//! - the process's peak resident set (`VmHWM`), for reference.
//!
//! The in-memory SQLite database cannot be shared with a child, so there the child seeds it
//! itself; its `VmHWM` then includes the database and the seeding.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::process::Command;

use peak_alloc::PeakAlloc;

use retort_bench::config::{Backend, Target};
use retort_bench::data::Fixture;
use retort_bench::{describe, implementation, BenchResult, LOADING_IMPLEMENTATIONS};

// Counts the bytes live through the global allocator and their peak (`System` underneath). A
// crate rather than our own wrapper: the workspace forbids `unsafe`, which `GlobalAlloc` needs.
#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// Rows loaded by default, as the issue asks.
const DEFAULT_ROWS: usize = 100_000;

/// What a child does with the users: hold them all, or read them through a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Load,
    Stream,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Load => "load",
            Mode::Stream => "stream",
        }
    }

    fn parse(name: &str) -> BenchResult<Mode> {
        match name {
            "load" => Ok(Mode::Load),
            "stream" => Ok(Mode::Stream),
            other => Err(format!("unknown mode `{other}` (use load or stream)").into()),
        }
    }
}

/// One child's figures, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Figures {
    rows: usize,
    heap_peak: usize,
    rss_growth: usize,
    vm_hwm: usize,
}

impl Figures {
    fn to_line(self) -> String {
        format!(
            "rows={} heap_peak={} rss_growth={} vm_hwm={}",
            self.rows, self.heap_peak, self.rss_growth, self.vm_hwm
        )
    }

    fn from_line(line: &str) -> BenchResult<Figures> {
        let mut figures = Figures {
            rows: 0,
            heap_peak: 0,
            rss_growth: 0,
            vm_hwm: 0,
        };
        let mut seen = 0;
        for pair in line.split_whitespace() {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("bad child output `{line}`"))?;
            let value: usize = value.parse()?;
            match key {
                "rows" => figures.rows = value,
                "heap_peak" => figures.heap_peak = value,
                "rss_growth" => figures.rss_growth = value,
                "vm_hwm" => figures.vm_hwm = value,
                _ => return Err(format!("bad child output `{line}`").into()),
            }
            seen += 1;
        }
        if seen == 4 {
            Ok(figures)
        } else {
            Err(format!("bad child output `{line}`").into())
        }
    }
}

/// `VmRSS` and `VmHWM` of this process, in bytes.
fn resident() -> BenchResult<(usize, usize)> {
    let status = fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| -> BenchResult<usize> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| format!("no {name} in /proc/self/status"))?;
        let kib: usize = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kib * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// The child: connect, load (measuring while the rows are held) or stream (measuring after).
fn child(name: &str, backend: Backend, rows: usize, mode: Mode) -> BenchResult<Figures> {
    let target = Target::locate(backend)?;
    // Keeps the in-memory database alive; the servers and the file were seeded by the parent.
    let _admin = if backend == Backend::SqliteMemory {
        let mut admin = target.fresh()?;
        admin.load(&Fixture::users(rows))?;
        Some(admin)
    } else {
        None
    };
    let mut runner = implementation(&target, name)?;
    // Resets VmHWM to the current resident set (Linux 4.0+).
    fs::write("/proc/self/clear_refs", "5")?;
    let (rss_before, _) = resident()?;
    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let (loaded, vm_hwm) = match mode {
        Mode::Load => {
            let mut while_held = Ok((0, 0));
            let loaded = runner.hold_trivial_query(&mut || while_held = resident())?;
            (loaded, while_held?.1)
        }
        // VmHWM is a high-water mark: read afterwards, it still tells the stream's peak.
        Mode::Stream => (runner.stream_all()?, resident()?.1),
    };
    let heap_peak = ALLOCATOR.peak_usage().saturating_sub(before);
    if loaded != rows {
        return Err(format!("{name} loaded {loaded} rows of {rows}").into());
    }
    Ok(Figures {
        rows,
        heap_peak,
        rss_growth: vm_hwm.saturating_sub(rss_before),
        vm_hwm,
    })
}

/// One child's result: its backend, library and mode.
type Measured = (Backend, &'static str, Mode, Figures);

/// The parent: seed each backend, run one child per library and mode, print and collect the
/// figures.
fn parent(backends: &[Backend], rows: usize) -> BenchResult<Vec<Measured>> {
    let exe = env::current_exe()?;
    let mut results = Vec::new();
    for &backend in backends {
        let target = Target::locate(backend)?;
        // The in-memory database goes with this process; each child seeds its own.
        if backend != Backend::SqliteMemory {
            let mut admin = target.fresh()?;
            admin.load(&Fixture::users(rows))?;
        }
        let children = LOADING_IMPLEMENTATIONS
            .iter()
            .map(|&name| (name, Mode::Load))
            .chain(
                LOADING_IMPLEMENTATIONS
                    .iter()
                    .map(|&name| (name, Mode::Stream)),
            );
        for (name, mode) in children {
            let output = Command::new(&exe)
                .args([
                    "--child",
                    name,
                    backend.name(),
                    &rows.to_string(),
                    mode.name(),
                ])
                .output()?;
            if !output.status.success() {
                return Err(format!(
                    "{name} on {backend}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                )
                .into());
            }
            let figures = Figures::from_line(String::from_utf8_lossy(&output.stdout).trim())?;
            let mode_name = mode.name();
            eprintln!(
                "memory: {backend:<13} {name:<12} {mode_name:<6} heap peak {:>7.1} MiB, RSS growth {:>7.1} MiB, VmHWM {:>7.1} MiB",
                mib(figures.heap_peak),
                mib(figures.rss_growth),
                mib(figures.vm_hwm)
            );
            results.push((backend, name, mode, figures));
        }
    }
    Ok(results)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The figures as the JSON list `summary --memory` reads.
fn to_json(results: &[Measured]) -> String {
    let mut out = String::from("[\n");
    for (i, (backend, name, mode, f)) in results.iter().enumerate() {
        let _ = write!(
            out,
            " {{\"backend\": \"{backend}\", \"implementation\": \"{name}\", \"mode\": \"{}\", \
             \"rows\": {}, \"heap_peak_bytes\": {}, \"rss_growth_bytes\": {}, \
             \"vm_hwm_bytes\": {}}}",
            mode.name(),
            f.rows,
            f.heap_peak,
            f.rss_growth,
            f.vm_hwm
        );
        out.push_str(if i + 1 < results.len() { ",\n" } else { "\n" });
    }
    out.push_str("]\n");
    out
}

fn run() -> BenchResult<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let [_, name, backend, rows, mode] = args.as_slice() else {
            return Err("usage: memory --child IMPLEMENTATION BACKEND ROWS MODE".into());
        };
        let figures = child(
            name,
            Backend::parse(backend)?,
            rows.parse()?,
            Mode::parse(mode)?,
        )?;
        println!("{}", figures.to_line());
        return Ok(());
    }
    let mut backends = vec![Backend::Sqlite];
    let mut rows = DEFAULT_ROWS;
    let mut json = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--backends" => {
                backends = value()?
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(Backend::parse)
                    .collect::<BenchResult<_>>()?;
            }
            "--rows" => rows = value()?.parse()?,
            "--json" => json = Some(value()?),
            "-h" | "--help" => {
                println!("memory [--backends LIST] [--rows N] [--json FILE]");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}` (try --help)").into()),
        }
    }
    let results = parent(&backends, rows)?;
    if let Some(path) = json {
        fs::write(&path, to_json(&results))?;
        eprintln!("memory: wrote {path}");
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("memory: {}", describe(&*e));
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_lines_round_trip() {
        let figures = Figures {
            rows: 3,
            heap_peak: 10,
            rss_growth: 20,
            vm_hwm: 30,
        };
        assert_eq!(Figures::from_line(&figures.to_line()).unwrap(), figures);
        assert!(Figures::from_line("rows=3 heap_peak=10").is_err());
        assert!(Figures::from_line("rows=3 heap_peak=x rss_growth=1 vm_hwm=2").is_err());
    }

    #[test]
    fn modes_round_trip_by_name() {
        for mode in [Mode::Load, Mode::Stream] {
            assert_eq!(Mode::parse(mode.name()).unwrap(), mode);
        }
        assert!(Mode::parse("hold").is_err());
    }

    #[test]
    fn the_counter_sees_a_held_allocation() {
        let before = ALLOCATOR.current_usage();
        // 16 MiB, far more than the test harness's other thread frees meanwhile.
        let held = vec![1u8; 16 << 20];
        assert!(ALLOCATOR.current_usage() >= before + (15 << 20));
        drop(held);
    }
}
