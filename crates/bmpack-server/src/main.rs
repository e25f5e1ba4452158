//! `bmpack`, the tool administrators run on a BlueMind server (in progress).
fn main() {
    eprintln!("bmpack: not implemented yet");
    std::process::exit(2);
}
