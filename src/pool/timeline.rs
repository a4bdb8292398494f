//! A record of which worker ran which task when, for pictures in a notebook.

use std::fmt;

/// One task's run on one worker, in nanoseconds on CLOCK_MONOTONIC.
///
/// ```
/// let pool = multiproc::Pool::builder().processes(2).timeline(true).build()?;
/// pool.map(|x: u64| x * 2, 0..4)?;
/// let spans = pool.timeline().spans().to_vec();
/// assert!(!spans.is_empty());
/// assert!(spans.iter().all(|s| s.end_ns >= s.start_ns));
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSpan {
    /// The pool's id for the task (a chunk of items for `map`).
    pub task: u64,
    /// The worker that ran it.
    pub pid: i32,
    /// When it started.
    pub start_ns: u64,
    /// When it finished.
    pub end_ns: u64,
}

/// The spans a pool recorded (see [`PoolBuilder::timeline`](crate::PoolBuilder::timeline)).
/// Shows as a table in text, and as a chart in a notebook (`evcxr_display`).
///
/// ```
/// let pool = multiproc::Pool::builder().processes(1).timeline(true).build()?;
/// pool.map(|x: u64| x + 1, 0..3)?;
/// let text = pool.timeline().to_string();
/// assert!(text.contains("worker pid"));
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    spans: Vec<TaskSpan>,
}

impl Timeline {
    pub(crate) fn new(spans: Vec<TaskSpan>) -> Timeline {
        Timeline { spans }
    }

    /// The recorded spans, in the order results arrived.
    ///
    /// ```
    /// let pool = multiproc::Pool::builder().processes(1).timeline(true).build()?;
    /// pool.apply(|| 1, ())?;
    /// assert_eq!(pool.timeline().spans().len(), 1);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn spans(&self) -> &[TaskSpan] {
        &self.spans
    }

    /// The distinct worker pids, in order of first appearance.
    ///
    /// ```
    /// let pool = multiproc::Pool::builder().processes(1).timeline(true).build()?;
    /// pool.apply(|| 1, ())?;
    /// assert_eq!(pool.timeline().workers(), pool.worker_pids());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn workers(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        for s in &self.spans {
            if !pids.contains(&s.pid) {
                pids.push(s.pid);
            }
        }
        pids
    }

    fn origin(&self) -> u64 {
        self.spans.iter().map(|s| s.start_ns).min().unwrap_or(0)
    }

    /// An HTML chart: one row per worker, one bar per task. Printed by `evcxr_display`.
    ///
    /// ```
    /// let pool = multiproc::Pool::builder().processes(1).timeline(true).build()?;
    /// pool.apply(|| 1, ())?;
    /// assert!(pool.timeline().to_html().starts_with("<div"));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn to_html(&self) -> String {
        let origin = self.origin();
        let end = self.spans.iter().map(|s| s.end_ns).max().unwrap_or(origin).max(origin + 1);
        let total = (end - origin) as f64;
        let mut html = String::from("<div style=\"font-family:monospace;font-size:12px\">");
        for pid in self.workers() {
            html.push_str(&format!(
                "<div style=\"display:flex;align-items:center;margin:2px 0\"><span style=\"width:110px\">pid {pid}</span><div style=\"position:relative;height:16px;flex:1;background:#eee\">"
            ));
            for s in self.spans.iter().filter(|s| s.pid == pid) {
                let left = (s.start_ns - origin) as f64 / total * 100.0;
                let width = ((s.end_ns - s.start_ns) as f64 / total * 100.0).max(0.3);
                html.push_str(&format!(
                    "<div title=\"task {} {:.3} ms\" style=\"position:absolute;left:{left:.2}%;width:{width:.2}%;height:16px;background:hsl({},60%,55%)\"></div>",
                    s.task,
                    (s.end_ns - s.start_ns) as f64 / 1e6,
                    (s.task * 47) % 360
                ));
            }
            html.push_str("</div></div>");
        }
        html.push_str(&format!("<div>0 … {:.3} ms</div></div>", total / 1e6));
        html
    }

    /// Shows the timeline in a notebook: an HTML chart with a text table as fallback.
    pub fn evcxr_display(&self) {
        println!("EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT", self.to_html());
        println!("EVCXR_BEGIN_CONTENT text/plain\n{self}\nEVCXR_END_CONTENT");
    }
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = self.origin();
        writeln!(f, "{:>6}  {:>10}  {:>10}  {:>10}", "task", "worker pid", "start ms", "end ms")?;
        for s in &self.spans {
            writeln!(
                f,
                "{:>6}  {:>10}  {:>10.3}  {:>10.3}",
                s.task,
                s.pid,
                (s.start_ns - origin) as f64 / 1e6,
                (s.end_ns - origin) as f64 / 1e6
            )?;
        }
        Ok(())
    }
}
