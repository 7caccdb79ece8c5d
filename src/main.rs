fn main() {
    std::process::exit(arthur_restore::main_with_args(std::env::args_os()));
}
