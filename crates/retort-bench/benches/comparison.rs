//! The comparison: every workload of `retort_bench::workload::Case::all()` on every backend of
//! `RETORT_BENCH_BACKENDS`, each implementation checked once and then timed.
//!
//! Criterion groups are `<workload>/<backend>`, function ids name the implementation and the
//! parameter is N, e.g. `trivial_query/sqlite/diesel/10000`. Each group's sampling comes from
//! [`Case::sampling`] (`RETORT_BENCH_QUICK=1` for short runs); criterion's filter argument
//! works: `cargo bench -p retort-bench --bench comparison -- trivial_query`.

use criterion::{BenchmarkId, Criterion, SamplingMode};
use retort_bench::config::Target;
use retort_bench::workload::{Case, Sampling};
use retort_bench::{describe, implementations, BenchResult};

fn run(c: &mut Criterion) -> BenchResult<()> {
    let cases = Case::all();
    let quick = std::env::var("RETORT_BENCH_QUICK").is_ok_and(|v| v == "1");
    for target in Target::from_env()? {
        // Kept open for the whole target: the in-memory database lives as long as it does.
        let mut admin = target.fresh()?;
        let mut runners = implementations(&target)?;
        let checked = admin.check_transport()?;
        if checked > 0 {
            eprintln!(
                "retort-bench: {}: all {checked} connections over TCP without TLS",
                target.backend
            );
        }
        for case in &cases {
            admin.load(&case.fixture())?;
            let mut group = c.benchmark_group(format!("{}/{}", case.name(), target.backend));
            let sampling = if quick {
                Sampling::QUICK
            } else {
                case.sampling()
            };
            group
                .sample_size(sampling.sample_size)
                .warm_up_time(sampling.warm_up)
                .measurement_time(sampling.measurement)
                .sampling_mode(if sampling.flat {
                    SamplingMode::Flat
                } else {
                    SamplingMode::Auto
                });
            for runner in runners.iter_mut().filter(|r| r.runs(case)) {
                runner
                    .check(case, admin.as_mut())
                    .map_err(|e| format!("{} check failed: {}", target.backend, describe(&*e)))?;
                let id = BenchmarkId::new(runner.name(), case.n());
                group.bench_function(id, |b| runner.bench(case, b, admin.as_mut()));
            }
            group.finish();
        }
    }
    Ok(())
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    if let Err(e) = run(&mut criterion) {
        eprintln!("retort-bench: {}", describe(&*e));
        std::process::exit(1);
    }
    criterion.final_summary();
}
