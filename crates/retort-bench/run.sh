#!/usr/bin/env bash
# Builds and runs the retort-bench comparison, then prints the summary table.
#
#   crates/retort-bench/run.sh                    # SQLite
#   crates/retort-bench/run.sh --all-backends     # SQLite, PostgreSQL and MariaDB
#
# Options:
#   --all-backends   add PostgreSQL (RETORT_POSTGRES_URL, default
#                    postgresql://postgres@127.0.0.1:5432/test) and MariaDB (RETORT_MYSQL_URL,
#                    default mysql://root@127.0.0.1:3306/test); the bench creates its own
#                    database `retort_bench` on each server and leaves the URL's database alone
#   --quick          short measurements, to try the whole thing out in a few minutes
#   --sqlalchemy     also run sqlalchemy_bench.py (needs `pip install 'sqlalchemy>=2,<3'`, plus
#                    psycopg2-binary and pymysql for the servers) and add its rows to the table
#   --publish        copy the table and charts into crates/retort-bench/results/, where
#                    BENCHMARKS.md links them
#   -- ARGS          passed to criterion, e.g. `-- trivial_query` to run one workload
#
# Outputs, under $CARGO_TARGET_DIR (default target/): criterion/ (criterion's HTML report in
# criterion/report/index.html), retort-bench/summary.md, retort-bench/ratios-<backend>.svg and,
# where rsvg-convert is installed (Debian: librsvg2-bin), ratios-<backend>.png.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

backends=sqlite
quick=0
sqlalchemy=0
publish=0
criterion_args=()
while (($#)); do
    case $1 in
        --all-backends) backends=sqlite,postgres,mysql ;;
        --quick) quick=1 ;;
        --sqlalchemy) sqlalchemy=1 ;;
        --publish) publish=1 ;;
        --) shift; criterion_args+=("$@"); break ;;
        -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if ((quick)); then
    criterion_args=(--warm-up-time 0.5 --measurement-time 1 --sample-size 10 "${criterion_args[@]}")
fi

# Diesel links the C client libraries of PostgreSQL and MariaDB whatever the backend run.
missing=()
pkg-config --exists libpq 2>/dev/null || missing+=(libpq-dev)
pkg-config --exists mysqlclient 2>/dev/null || pkg-config --exists libmariadb 2>/dev/null \
    || missing+=(libmariadb-dev-compat libmariadb-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
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
cargo bench -p retort-bench --bench comparison -- "${criterion_args[@]}"

extra=()
if ((sqlalchemy)); then
    py_args=(--backends "$backends" --json "$out/sqlalchemy.json")
    ((quick)) && py_args+=(--quick)
    python3 "$here/sqlalchemy_bench.py" "${py_args[@]}"
    extra=(--extra "$out/sqlalchemy.json")
fi

rm -f "$out"/ratios-*.svg "$out"/ratios-*.png
# The bench profile reuses the libraries `cargo bench` just built.
cargo run -q --profile bench -p retort-bench --bin summary -- \
    --criterion-dir "$target_dir/criterion" --backends "$backends" --svg-dir "$out" \
    "${extra[@]}" | tee "$out/summary.md"

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
fi
echo "run.sh: table in $out/summary.md, charts in $out/, criterion report in $target_dir/criterion/report/index.html"
