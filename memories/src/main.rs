//! The `memories` binary: the command line (`memories_cli`) on Memories' compiled networks.
//!
//! Everything else lives in the crates it names, so that an edit to a network rebuilds the
//! network, its glue and these lines only.

fn main() -> std::process::ExitCode {
    memories_cli::main(&memories_networks::NETWORKS)
}
