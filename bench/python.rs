//! The Python side: runs bench/python_mp.py (standard library only) with the machine's python3
//! once per workload group and start method, and reads its `RESULT` lines.

use std::process::Command;

use crate::workloads::{Samples, Sizes};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/python_mp.py");

/// The interpreter: `$PYTHON` if set, else `python3`.
pub fn interpreter() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `python3 --version`, or None if it does not run.
pub fn version() -> Option<String> {
    let out = Command::new(interpreter()).arg("--version").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Iterations of the Python CPU task, for a task time of tens of milliseconds like the Rust one.
const PYTHON_CPU_ITERS: u64 = 60_000;
/// Python's per-item costs are ~20-40 µs: fewer items keep the run short with the same meaning.
const PYTHON_CHUNK1_ITEMS: usize = 10_000;

/// Runs one workload group with start method `context` ("fork" or "spawn").
pub fn run(context: &str, group: &str, s: &Sizes, quick: bool) -> Result<Vec<(String, Samples)>, String> {
    let reps = match group {
        "start_join" => s.reps.start_join,
        "pool_create" => s.reps.pool_create,
        "result_64mb" => s.reps.result,
        "cpu" => s.reps.cpu,
        "start_join_1gb" => s.reps.start_join_1gb,
        _ => s.reps.pool_ops,
    };
    let mut cmd = Command::new(interpreter());
    cmd.arg(SCRIPT)
        .args(["--context", context, "--workload", group, "--reps", &reps.to_string()])
        .args(["--map-items", &s.map_items.to_string()])
        .args(["--chunk1-items", &PYTHON_CHUNK1_ITEMS.to_string()])
        .args(["--async-tasks", &s.async_tasks.to_string()])
        .args(["--apply-calls", &s.apply_calls.to_string()])
        .args(["--result-bytes", &s.result_bytes.to_string()])
        .args(["--cpu-tasks", &s.cpu_tasks.to_string()])
        .args(["--cpu-iters", &PYTHON_CPU_ITERS.to_string()])
        .args(["--hold-bytes", &s.hold_bytes.to_string()]);
    if quick {
        cmd.arg("--quick");
    }
    let out = cmd.output().map_err(|e| format!("could not run {}: {e}", interpreter()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or("").to_string();
        return Err(format!("python {context} {group} failed ({}): {last}", out.status));
    }
    let results: Vec<(String, Samples)> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("RESULT "))
        .filter_map(|rest| {
            let mut words = rest.split_whitespace();
            let key = words.next()?.to_string();
            let samples = words.map(str::parse).collect::<Result<Vec<f64>, _>>().ok()?;
            Some((key, samples))
        })
        .collect();
    if results.is_empty() {
        return Err(format!("python {context} {group} printed no RESULT line"));
    }
    Ok(results)
}
