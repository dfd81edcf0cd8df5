//! `fake-provider`: runs the tests' fake AI provider until killed. Prints its base URL
//! (`http://127.0.0.1:PORT`) as the first line of stdout. `FAKE_DELAY_MS` sets a delay before
//! each streamed delta (for TUI tests and benchmarks). Tests written in other languages (the
//! editor clients') script it over HTTP under `/__fake/` on the same port: see the module doc of
//! `atmos_tests::fake_provider`.

use std::io::Write;
use std::time::Duration;

use atmos_tests::fake_provider::FakeProvider;

fn main() {
    let delay = std::env::var("FAKE_DELAY_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let fake = FakeProvider::start_with_delay(Duration::from_millis(delay));
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", fake.base_url());
    let _ = out.flush();
    loop {
        std::thread::park();
    }
}
