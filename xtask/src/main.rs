//! Project automation: `cargo xtask <command>` (in progress).
fn main() {
    eprintln!("xtask: not implemented yet");
    std::process::exit(2);
}
