#[retort::test(sqlite)]
fn saves_an_order(url: String) {
    let _ = url;
}

fn main() {}
