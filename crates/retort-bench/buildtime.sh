#!/usr/bin/env bash
# How long a SQLite application with 30 models takes to build from scratch: retort against
# Diesel, each app generated here with the same 30 tables, each with a full debug build from
# an empty target directory.
#
#   crates/retort-bench/buildtime.sh [DIR]      # apps and target dirs under DIR
#                                               # (default: /tmp/retort-buildtime)
#
# The apps (each a model per table, tables created, a row inserted and read back per model):
#
#   retort-sqlite          retort, default-features = false, features = ["sqlite"]
#   retort-default         retort with its default features (sqlite + chrono, uuid, json, decimal)
#   diesel-sqlite          diesel 2.2, features = ["sqlite"], against the system libsqlite3
#   diesel-sqlite-bundled  the same, with SQLite compiled in (libsqlite3-sys "bundled"), as
#                          retort's rusqlite always does
#
# Each app gets the repository's Cargo.lock, so the shared crates have the versions retort is
# tested with (Diesel resolves to the 2.x in it). Dependencies are fetched first, then each
# app is built once into its own empty CARGO_TARGET_DIR, then its main.rs is touched and
# rebuilt (the app's own code alone). Prints a Markdown table: wall time, CPU time (user +
# sys, steadier than wall time on a busy machine), the rebuild, and the crates in the tree.
#
# Options (environment): BUILDTIME_APPS="retort-sqlite diesel-sqlite" to build only those;
# BUILDTIME_TIMINGS=1 to add `--timings` (cargo's HTML report of each unit, in the target dir).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${1:-/tmp/retort-buildtime}
apps=${BUILDTIME_APPS:-retort-sqlite retort-default diesel-sqlite diesel-sqlite-bundled}
models=30
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

manifest() { # name, dependency lines
    cat <<EOF
[package]
name = "$1"
version = "0.1.0"
edition = "2021"
publish = false

# Its own workspace, wherever DIR is.
[workspace]

[dependencies]
$2
EOF
}

retort_main() {
    echo "use retort::prelude::*;"
    for i in $(seq 0 $((models - 1))); do
        cat <<EOF

#[derive(Model, Debug, Default)]
#[retort(table = "t$i")]
pub struct M$i {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 50)]
    pub name: String,
    pub email: Option<String>,
    pub age: i32,
    pub active: bool,
    pub score: f64,
}
EOF
    done
    cat <<EOF

fn main() -> retort::Result<()> {
    let engine = create_engine("sqlite://")?;
    Base::metadata()?.create_all(&engine)?;
    let session = Session::new(&engine);
EOF
    for i in $(seq 0 $((models - 1))); do
        cat <<EOF
    session.add(M$i { name: "n$i".into(), age: $i, active: true, score: 0.5, ..Default::default() });
EOF
    done
    echo "    session.commit()?;"
    for i in $(seq 0 $((models - 1))); do
        echo "    assert_eq!(session.query::<M$i>().all()?.len(), 1);"
    done
    echo "    Ok(())"
    echo "}"
}

diesel_main() {
    echo "use diesel::prelude::*;"
    echo
    echo "mod schema {"
    for i in $(seq 0 $((models - 1))); do
        cat <<EOF
    diesel::table! {
        t$i (id) {
            id -> BigInt,
            name -> Text,
            email -> Nullable<Text>,
            age -> Integer,
            active -> Bool,
            score -> Double,
        }
    }
EOF
    done
    echo "}"
    for i in $(seq 0 $((models - 1))); do
        cat <<EOF

#[derive(Queryable, Selectable, Insertable, Debug)]
#[diesel(table_name = schema::t$i)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite))]
pub struct M$i {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub age: i32,
    pub active: bool,
    pub score: f64,
}
EOF
    done
    cat <<EOF

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut conn = SqliteConnection::establish(":memory:")?;
EOF
    for i in $(seq 0 $((models - 1))); do
        cat <<EOF
    diesel::sql_query("CREATE TABLE t$i (id BIGINT PRIMARY KEY, name VARCHAR(50) NOT NULL, email TEXT, age INTEGER NOT NULL, active BOOLEAN NOT NULL, score DOUBLE NOT NULL)").execute(&mut conn)?;
    diesel::insert_into(schema::t$i::table)
        .values(&M$i { id: 1, name: "n$i".into(), email: None, age: $i, active: true, score: 0.5 })
        .execute(&mut conn)?;
    assert_eq!(schema::t$i::table.select(M$i::as_select()).load(&mut conn)?.len(), 1);
EOF
    done
    echo "    Ok(())"
    echo "}"
}

generate() { # app
    local app=$1 deps
    case $app in
        retort-sqlite)
            deps="retort = { path = \"$root/crates/retort\", default-features = false, features = [\"sqlite\"] }" ;;
        retort-default)
            deps="retort = { path = \"$root/crates/retort\" }" ;;
        diesel-sqlite)
            deps='diesel = { version = "2.2", features = ["sqlite"] }' ;;
        diesel-sqlite-bundled)
            deps='diesel = { version = "2.2", features = ["sqlite"] }
libsqlite3-sys = { version = "0.30", features = ["bundled"] }' ;;
        *) echo "unknown app $app" >&2; exit 2 ;;
    esac
    mkdir -p "$dir/$app/src"
    manifest "$app" "$deps" >"$dir/$app/Cargo.toml"
    case $app in
        retort-*) retort_main ;;
        *) diesel_main ;;
    esac >"$dir/$app/src/main.rs"
    cp "$root/Cargo.lock" "$dir/$app/Cargo.lock"
}

seconds() { # the file /usr/bin/time wrote: "wall user sys"
    awk '{ printf "%.1f %.1f", $1, $2 + $3 }' "$1"
}

echo "| app | full build: wall | full build: CPU | app code only (wall) | crates | load before |"
echo "|---|---|---|---|---|---|"
for app in $apps; do
    generate "$app"
    (cd "$dir/$app" && cargo fetch -q)
    target="$dir/target-$app"
    rm -rf "$target"
    load=$(cut -d' ' -f1 /proc/loadavg)
    timings=()
    if [ "${BUILDTIME_TIMINGS:-0}" = 1 ]; then timings=(--timings); fi
    (cd "$dir/$app" && CARGO_TARGET_DIR=$target /usr/bin/time -f "%e %U %S" -o "$dir/$app.full" \
        cargo build -q "${timings[@]}")
    touch "$dir/$app/src/main.rs"
    (cd "$dir/$app" && CARGO_TARGET_DIR=$target /usr/bin/time -f "%e %U %S" -o "$dir/$app.app" \
        cargo build -q)
    (cd "$dir/$app" && CARGO_TARGET_DIR=$target cargo run -q) # the app works
    read -r full_wall full_cpu <<<"$(seconds "$dir/$app.full")"
    read -r app_wall _ <<<"$(seconds "$dir/$app.app")"
    crates=$(cd "$dir/$app" && cargo tree -e normal --prefix none | sed 's/ (\*)$//' | sort -u | wc -l)
    echo "| $app | ${full_wall} s | ${full_cpu} s | ${app_wall} s | $crates | $load |"
done
