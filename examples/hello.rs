//! The seed's Q3 in Rust: a child greets Alice, then the parent continues.
use multiproc::prelude::*;

fn main() -> Result<(), Error> {
    let mut p = Process::new(|| println!("Hello, Alice!"));
    p.start()?;
    p.join()?;
    println!("Main process continues...");
    let err = multiproc::spawn(|| -> i32 { panic!("123") })?.join().unwrap_err();
    println!("error: {err}");
    Ok(())
}
