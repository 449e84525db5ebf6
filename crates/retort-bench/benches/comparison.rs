//! The comparison: every workload of `retort_bench::workload::Case::all()` on every backend of
//! `RETORT_BENCH_BACKENDS`, each implementation checked once and then timed.
//!
//! Criterion groups are `<workload>/<backend>`, function ids name the implementation and the
//! parameter is N, e.g. `trivial_query/sqlite/diesel/10000`. Criterion's usual arguments work:
//! `cargo bench -p retort-bench --bench comparison -- trivial_query --quick`.

use criterion::{BenchmarkId, Criterion};
use retort_bench::config::Target;
use retort_bench::workload::Case;
use retort_bench::{describe, implementations, BenchResult};

fn run(c: &mut Criterion) -> BenchResult<()> {
    let cases = Case::all();
    for target in Target::from_env()? {
        let mut admin = target.admin()?;
        let mut runners = implementations(&target)?;
        for case in &cases {
            admin.load(&case.fixture())?;
            let mut group = c.benchmark_group(format!("{}/{}", case.name(), target.backend));
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
