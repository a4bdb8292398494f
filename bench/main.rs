//! Side-by-side benchmark (issue 7): the same workloads through `multiproc`, through Python's
//! multiprocessing (fork and spawn start methods) and through a raw fork-and-pipe baseline.
//!
//! Run with `./bench.sh` (full, a few minutes) or `./bench.sh --quick` (each workload once).
//! Prints a table of medians and ratios, which targets of issues 2 and 3 are met, and writes
//! target/bench/latest.json. A benchmark reports and never fails: it exits 0 whatever the
//! numbers, and a workload that errors is reported and skipped.
//!
//! The binary must stay single-threaded: the raw baseline forks children that allocate.

mod mp;
mod python;
mod raw;
mod report;
mod workloads;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use report::{Results, Side};
use workloads::{Reps, RunGroup, Sizes, GROUPS};

const USAGE: &str = "usage: ./bench.sh [--quick] [--only GROUP,GROUP...] [--no-python] [--json PATH]
  --quick      run every workload once, without warm-up (a smoke test for CI)
  --only       run only these workload groups: start_join pool_create map_100k map_chunk1
               apply_async apply result_64mb cpu start_join_1gb
  --no-python  skip the Python sides
  --json PATH  write the JSON here instead of target/bench/latest.json
  $PYTHON      the interpreter to use (default python3)";

struct Options {
    quick: bool,
    only: Option<Vec<String>>,
    python: bool,
    json: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut o = Options { quick: false, only: None, python: true, json: None };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--no-python" => o.python = false,
            "--only" => o.only = Some(args.next().ok_or("--only needs a list")?.split(',').map(str::to_string).collect()),
            "--json" => o.json = Some(args.next().ok_or("--json needs a path")?.into()),
            "--bench" => {} // added by `cargo bench`
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if let Some(only) = &o.only {
        if let Some(bad) = only.iter().find(|g| !GROUPS.contains(&g.as_str())) {
            return Err(format!("unknown workload group {bad}"));
        }
    }
    Ok(o)
}

fn first_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path).map(|s| s.trim().to_string()).unwrap_or_else(|_| "unknown".into())
}

fn cpu_model() -> String {
    read_trimmed("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

/// Measures how much CPU other programs took while a workload group ran: the whole machine's
/// busy time (/proc/stat) minus this benchmark's own (itself and every child it reaped).
struct CpuMeter {
    start: Instant,
    machine: f64,
    ours: f64,
}

impl CpuMeter {
    fn machine_busy_seconds() -> f64 {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<f64> = stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
        // user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
        let busy: f64 = fields.iter().enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        busy / hz
    }

    fn our_seconds() -> f64 {
        let mut total = 0.0;
        for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
            // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: `ru` is a valid out pointer. getrusage(2).
            if unsafe { libc::getrusage(who, &mut ru) } == 0 {
                for tv in [ru.ru_utime, ru.ru_stime] {
                    total += tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
                }
            }
        }
        total
    }

    fn start() -> CpuMeter {
        CpuMeter { start: Instant::now(), machine: Self::machine_busy_seconds(), ours: Self::our_seconds() }
    }

    /// Cores' worth of CPU that other programs used since `start` (0 on an idle machine).
    fn others(&self) -> f64 {
        let wall = self.start.elapsed().as_secs_f64().max(1e-3);
        let machine = Self::machine_busy_seconds() - self.machine;
        let ours = Self::our_seconds() - self.ours;
        ((machine - ours) / wall).max(0.0)
    }
}

/// Before the CPU job: waits (at most `max`) for a second in which other programs use less
/// than a fifth of a core, since a speedup is only measurable with both cores free.
/// Returns what other programs used in the last second looked at.
fn wait_for_quiet(max: std::time::Duration) -> f64 {
    let until = Instant::now() + max;
    loop {
        let meter = CpuMeter::start();
        std::thread::sleep(std::time::Duration::from_secs(1));
        let others = meter.others();
        if others < QUIET_CORES || Instant::now() >= until {
            return others;
        }
    }
}

/// Other programs' CPU use (in cores) below which the machine counts as quiet.
const QUIET_CORES: f64 = 0.2;

/// 1 GB that is really resident: every page written.
fn touched_memory(bytes: usize) -> Vec<u8> {
    std::hint::black_box(vec![1u8; bytes])
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(if e.is_empty() { 0 } else { 2 });
        }
    };
    let started = Instant::now();
    let python_version = if o.python { python::version() } else { None };
    let mut info = vec![
        ("date", first_line("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])),
        ("mode", if o.quick { "quick".to_string() } else { "full".to_string() }),
        ("nproc", std::thread::available_parallelism().map(|n| n.to_string()).unwrap_or_else(|_| "unknown".into())),
        ("cpu", cpu_model()),
        ("kernel", read_trimmed("/proc/sys/kernel/osrelease")),
        ("rustc", first_line("rustc", &["--version"])),
        ("python", python_version.clone().unwrap_or_else(|| "not run".into())),
        ("loadavg_start", read_trimmed("/proc/loadavg")),
    ];
    println!("multiproc benchmark ({} mode)", if o.quick { "quick" } else { "full" });
    for (k, v) in &info {
        println!("  {k:<14} {v}");
    }
    if o.python && python_version.is_none() {
        println!("  ({} not found: the Python columns stay empty)", python::interpreter());
    }
    println!();

    let rust = Sizes::new(if o.quick { Reps::QUICK } else { Reps::RUST }, o.quick);
    let py_fork = Sizes::new(if o.quick { Reps::QUICK } else { Reps::PYTHON_FORK }, o.quick);
    let py_spawn = Sizes::new(if o.quick { Reps::QUICK } else { Reps::PYTHON_SPAWN }, o.quick);
    let mut res = Results::new();
    let groups: Vec<&'static str> =
        GROUPS.iter().copied().filter(|g| o.only.as_ref().map_or(true, |only| only.iter().any(|x| x == g))).collect();
    let mut busy = Vec::new();
    for (i, &group) in groups.iter().enumerate() {
        eprint!("[{}/{}] {group:<15}", i + 1, groups.len());
        if group == "cpu" && !o.quick {
            let others = wait_for_quiet(std::time::Duration::from_secs(30));
            eprint!("(waited for a quiet second: others {others:.2}) ");
        }
        let meter = CpuMeter::start();
        let hold = (group == "start_join_1gb").then(|| touched_memory(rust.hold_bytes));
        let rust_sides: [(Side, RunGroup); 2] = [(Side::Raw, raw::run), (Side::Multiproc, mp::run)];
        for (side, run) in rust_sides {
            eprint!(" {}", side.key());
            // A panic (a bug in a side) is reported like an error: a benchmark never fails.
            let outcome = std::panic::catch_unwind(|| run(group, &rust)).unwrap_or_else(|_| Err("panicked (see stderr)".into()));
            match outcome {
                Ok(found) => found.into_iter().for_each(|(k, v)| res.record(side, k, v)),
                Err(e) => res.errors.push(format!("{group} on {}: {e}", side.key())),
            }
        }
        drop(hold);
        if python_version.is_some() {
            for (side, ctx, sizes) in [(Side::PyFork, "fork", &py_fork), (Side::PySpawn, "spawn", &py_spawn)] {
                eprint!(" {}", side.key());
                match python::run(ctx, group, sizes, o.quick) {
                    Ok(found) => found.into_iter().for_each(|(k, v)| res.record(side, &k, v)),
                    Err(e) => res.errors.push(format!("{group} on {}: {e}", side.key())),
                }
            }
        }
        let others = meter.others();
        eprintln!("  ({:.1} s; other programs used {others:.2} of the cores meanwhile)", meter.start.elapsed().as_secs_f64());
        busy.push(format!("{group}={others:.2}"));
        res.others_cores.push((group, others));
    }
    info.push(("other_programs_cores_per_group", busy.join(" ")));
    info.push(("loadavg_end", read_trimmed("/proc/loadavg")));
    info.push(("seconds", format!("{:.1}", started.elapsed().as_secs_f64())));

    println!("\n{}", report::table(&res));
    let targets = report::targets(&res);
    println!("Targets (issues 2 and 3):\n{}", report::targets_text(&targets));
    for e in &res.errors {
        println!("error (skipped): {e}");
    }
    let get = |key: &str| info.iter().find(|(k, _)| *k == key).map_or("", |(_, v)| v.as_str());
    println!("load average before/after: {} / {}", get("loadavg_start"), get("loadavg_end"));
    println!("cores used by other programs during each group (of {}): {}", get("nproc"), get("other_programs_cores_per_group"));

    let json = report::json(&res, &targets, &info);
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")))
        .join("bench");
    let path = o.json.clone().unwrap_or_else(|| dir.join("latest.json"));
    let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, &json));
    match written {
        Ok(()) => println!("JSON: {}", path.display()),
        Err(e) => println!("could not write {}: {e}", path.display()),
    }
    if o.json.is_none() {
        // Keep every run for tracking, named by its start time.
        let stamp: String = get("date").chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let _ = std::fs::write(dir.join(format!("run-{stamp}.json")), &json);
    }
    println!("total {:.1} s", started.elapsed().as_secs_f64());
}
