fn main() { evcxr::runtime_hook(); evcxr_jupyter::main().unwrap(); }
