//! The `multiproc` side: the same workloads through the library's public API.

use multiproc::{spawn, Pool};

use crate::workloads::{check, cpu_task, sample, square, Samples, Sizes};

fn err(e: multiproc::Error) -> String {
    format!("multiproc: {e}")
}

/// `spawn` of a closure that does nothing, then `join`.
fn start_join() -> Result<(), String> {
    spawn(|| ()).map_err(err)?.join().map_err(err)
}

/// Runs one workload group; returns (key, seconds per operation) for each measured key.
pub fn run(group: &'static str, s: &Sizes) -> Result<Vec<(&'static str, Samples)>, String> {
    let r = s.reps;
    Ok(match group {
        "start_join" => vec![("start_join", sample(r.start_join, s.warmup, 1, start_join)?)],
        "pool_create" => {
            // Until the pool has answered one task: a pool is ready when it can do work.
            let t = sample(r.pool_create, s.warmup, 1, || {
                let pool = Pool::new(2).map_err(err)?;
                pool.apply(square, (3u64,)).map_err(err)?;
                Ok(pool)
            })?;
            vec![("pool_create", t)]
        }
        "map_100k" | "map_chunk1" | "apply_async" | "apply" => {
            let pool = Pool::new(2).map_err(err)?;
            let t = match group {
                "map_100k" => sample(r.pool_ops, s.warmup, 1, || {
                    let v = pool.map(square, 0..s.map_items as u64).map_err(err)?;
                    check(v.len() == s.map_items, "v.len() == s.map_items")?;
                    Ok(())
                })?,
                "map_chunk1" => sample(r.pool_ops, s.warmup, s.chunk1_items, || {
                    let v = pool.map_chunked(square, 0..s.chunk1_items as u64, 1).map_err(err)?;
                    check(v.len() == s.chunk1_items, "v.len() == s.chunk1_items")?;
                    Ok(())
                })?,
                "apply_async" => sample(r.pool_ops, s.warmup, s.async_tasks, || {
                    let pending = (0..s.async_tasks as u64)
                        .map(|i| pool.apply_async(square, (i,)))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(err)?;
                    for p in pending {
                        p.get().map_err(err)?;
                    }
                    Ok(())
                })?,
                _ => sample(r.pool_ops, s.warmup, s.apply_calls, || {
                    for i in 0..s.apply_calls as u64 {
                        pool.apply(square, (i,)).map_err(err)?;
                    }
                    Ok(())
                })?,
            };
            pool.close().map_err(err)?;
            pool.join().map_err(err)?;
            vec![(group, t)]
        }
        "result_64mb" => {
            let bytes = s.result_bytes;
            let t = sample(r.result, s.warmup, 1, || {
                let data: Vec<u8> = spawn(move || vec![1u8; bytes]).map_err(err)?.join().map_err(err)?;
                check(data.len() == bytes, "data.len() == bytes")?;
                Ok(())
            })?;
            vec![("result_64mb", t)]
        }
        "cpu" => {
            // 1-worker and 2-worker runs alternate, so both see the same load on a shared machine.
            let pools = [Pool::new(1).map_err(err)?, Pool::new(2).map_err(err)?];
            for pool in &pools {
                pool.map_chunked(square, 0..2u64, 1).map_err(err)?; // workers up and warm
            }
            let tasks = vec![s.cpu_iters; s.cpu_tasks];
            let mut times = [Vec::new(), Vec::new()];
            for _ in 0..r.cpu {
                for (pool, t) in pools.iter().zip(&mut times) {
                    t.extend(sample(1, false, 1, || pool.map_chunked(cpu_task, tasks.iter().copied(), 1).map_err(err))?);
                }
            }
            for pool in &pools {
                pool.close().map_err(err)?;
                pool.join().map_err(err)?;
            }
            let [one, two] = times;
            vec![("cpu_1", one), ("cpu_2", two)]
        }
        "start_join_1gb" => vec![("start_join_1gb", sample(r.start_join_1gb, s.warmup, 1, start_join)?)],
        other => return Err(format!("unknown workload {other}")),
    })
}
