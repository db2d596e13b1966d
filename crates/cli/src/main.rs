//! The `upframe` command-line program.

mod model_cmd;
mod models_cmd;

fn main() {
    println!("upframe");
}
