#!/usr/bin/env bash
# Builds and runs the retort-bench comparison and the memory measurement, then prints the
# summary tables.
#
#   crates/retort-bench/run.sh                    # SQLite, in a WAL file and in memory
#   crates/retort-bench/run.sh --all-backends     # and PostgreSQL and MariaDB
#
# Options:
#   --all-backends   add PostgreSQL (RETORT_POSTGRES_URL, default
#                    postgresql://postgres@127.0.0.1:5432/test) and MariaDB (RETORT_MYSQL_URL,
#                    default mysql://root@127.0.0.1:3306/test); the bench creates its own
#                    database `retort_bench` on each server and leaves the URL's database alone
#   --backends LIST  a comma-separated subset of sqlite,sqlite-memory,postgres,mysql
#   --quick          short measurements, to try the whole thing out in a few minutes
#   --sqlalchemy     also run sqlalchemy_bench.py (needs `pip install 'sqlalchemy>=2,<3'`, plus
#                    psycopg2-binary and pymysql for the servers) and add its rows to the table
#   --no-memory      skip the peak-memory measurement (the `memory` bin)
#   --plots          let criterion draw its plots for the HTML report (about 5 s more per
#                    benchmark, a quarter of an hour on a full run)
#   --publish        copy the charts into crates/retort-bench/results/ and rewrite the results
#                    part of BENCHMARKS.md (between its results:begin/end markers)
#   --publish-to FILE  with --publish, rewrite FILE instead of BENCHMARKS.md
#   -- ARGS          passed to criterion, e.g. `-- trivial_query` to run one workload (sampling
#                    is set per workload in the bench, so criterion's sampling flags are ignored)
#
# Outputs, under $CARGO_TARGET_DIR (default target/): criterion/ (with --plots, criterion's HTML
# report in criterion/report/index.html), retort-bench/summary.md, retort-bench/memory.json,
# retort-bench/ratios-<backend>.svg and, where rsvg-convert is installed (Debian:
# librsvg2-bin), ratios-<backend>.png.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

backends=sqlite,sqlite-memory
quick=0
sqlalchemy=0
memory=1
plots=0
publish=0
publish_to=$root/BENCHMARKS.md
criterion_args=()
run_line="run.sh $*"
while (($#)); do
    case $1 in
        --all-backends) backends=sqlite,sqlite-memory,postgres,mysql ;;
        --backends) backends=${2:?--backends needs a list}; shift ;;
        --quick) quick=1 ;;
        --sqlalchemy) sqlalchemy=1 ;;
        --no-memory) memory=0 ;;
        --plots) plots=1 ;;
        --publish) publish=1 ;;
        --publish-to) publish_to=$(realpath "${2:?--publish-to needs a file}"); shift ;;
        --) shift; criterion_args+=("$@"); break ;;
        -h | --help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if ((quick)); then
    export RETORT_BENCH_QUICK=1
fi
if ((!plots)); then
    criterion_args=(--noplot "${criterion_args[@]}")
fi
started=$SECONDS
elapsed() { echo "run.sh: $1 done after $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s"; }

# Diesel links the C client libraries of PostgreSQL and MariaDB whatever the backend run.
missing=()
pkg-config --exists libpq 2>/dev/null || missing+=(libpq-dev)
pkg-config --exists mysqlclient 2>/dev/null || pkg-config --exists libmariadb 2>/dev/null \
    || missing+=(libmariadb-dev-compat libmariadb-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
# The published charts are PNGs (the SVGs are kept beside them).
if ((publish)) && ! command -v rsvg-convert >/dev/null; then
    missing+=(librsvg2-bin)
fi
if ((${#missing[@]})); then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "run.sh: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "run.sh: Diesel needs these system packages (Debian names): ${missing[*]}" >&2
        exit 1
    fi
fi

cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
out="$target_dir/retort-bench"
mkdir -p "$out"

export RETORT_BENCH_BACKENDS=$backends
echo "run.sh: benchmarking on $backends"
# Earlier runs' estimates stay under criterion/; the summary reads only this run's backends.
cargo bench -p retort-bench --bench comparison -- "${criterion_args[@]}"
elapsed "the Rust benchmark"

extra=()
if ((sqlalchemy)); then
    py_args=(--backends "$backends" --json "$out/sqlalchemy.json")
    ((quick)) && py_args+=(--quick)
    python3 "$here/sqlalchemy_bench.py" "${py_args[@]}"
    extra=(--extra "$out/sqlalchemy.json")
    elapsed "SQLAlchemy"
fi

rm -f "$out/memory.json" "$out/sqlalchemy-memory.json"
if ((memory)); then
    # The bench profile reuses the libraries `cargo bench` just built.
    cargo run -q --profile bench -p retort-bench --bin memory -- \
        --backends "$backends" --json "$out/memory.json"
    extra+=(--memory "$out/memory.json")
    if ((sqlalchemy)); then
        python3 "$here/sqlalchemy_bench.py" --backends "$backends" \
            --memory "$out/sqlalchemy-memory.json"
        extra+=(--memory "$out/sqlalchemy-memory.json")
    fi
    elapsed "the memory measurement"
fi

rm -f "$out"/ratios-*.svg "$out"/ratios-*.png
summary=(cargo run -q --profile bench -p retort-bench --bin summary --
    --criterion-dir "$target_dir/criterion" --backends "$backends" "${extra[@]}")
"${summary[@]}" --svg-dir "$out" | tee "$out/summary.md"

if command -v rsvg-convert >/dev/null; then
    for svg in "$out"/ratios-*.svg; do
        rsvg-convert --zoom 1.5 --output "${svg%.svg}.png" "$svg"
    done
fi
if ((publish)); then
    mkdir -p "$here/results"
    rm -f "$here"/results/ratios-* "$here/results/summary.md"
    cp "$out/summary.md" "$out"/ratios-*.svg "$here/results/"
    cp "$out"/ratios-*.png "$here/results/" 2>/dev/null || true
    echo "run.sh: copied the table and charts into $here/results/"
    publish_args=(--publish "$publish_to" --charts "$here/results" --run "$run_line")
    ((quick)) && publish_args+=(--quick)
    "${summary[@]}" "${publish_args[@]}" >/dev/null
fi
elapsed "everything"
echo "run.sh: table in $out/summary.md, charts in $out/, criterion's data in $target_dir/criterion/"
