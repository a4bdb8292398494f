use multiproc::prelude::*;
use std::time::{Duration, Instant};
fn square(x: u64) -> u64 { x * x }
fn main() -> Result<(), Error> {
    let pool = Pool::new(2)?;
    println!("{:?}", pool.map(square, 0..10)?);
    let k = 3;
    println!("{:?}", pool.map(move |x: u64| x * k, 0..10)?);
    let t = Instant::now();
    let v = pool.map(square, 0..100_000u64)?;
    println!("100k default chunk: {:?} sum={}", t.elapsed(), v.iter().sum::<u64>());
    let t = Instant::now();
    let v = pool.map_chunked(square, 0..20_000u64, 1)?;
    println!("chunk1 per item: {:?} n={}", t.elapsed() / 20_000, v.len());
    let t = Instant::now();
    let rs: Vec<_> = (0..10_000u64).map(|i| pool.apply_async(square, (i,))).collect::<Result<_,_>>()?;
    let s: u64 = rs.into_iter().map(|r| r.get().unwrap()).sum();
    println!("apply_async per task: {:?} sum={s}", t.elapsed() / 10_000);
    let t = Instant::now();
    for i in 0..1000u64 { pool.apply(square, (i,))?; }
    println!("apply round trip: {:?}", t.elapsed() / 1000);
    let e = pool.apply(|| -> u8 { panic!("123") }, ()).unwrap_err();
    println!("panic: {e}");
    let r = pool.apply_async(|| std::thread::sleep(Duration::from_secs(5)), ())?;
    std::thread::sleep(Duration::from_millis(100));
    let pids = pool.worker_pids();
    for p in &pids { unsafe { libc::kill(*p, 9); } }
    println!("killed: {}", r.get().unwrap_err());
    println!("after kill: {:?}", pool.map(square, 0..5)?);
    pool.close()?; pool.join_timeout(Duration::from_secs(5))?;
    Ok(())
}
