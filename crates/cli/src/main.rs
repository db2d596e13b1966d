//! The `upframe` command-line program.

mod bench_cmd;
mod model_cmd;
mod models_cmd;

fn main() {
    println!("upframe");
}
