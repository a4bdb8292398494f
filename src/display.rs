//! `SpeedupTable`: timings of one job run sequentially and on 1, 2, … processes, shown as a
//! text table and, in a notebook, as a bar chart.

use std::fmt;
use std::time::Duration;

/// One measured run: how many processes did the job and how long it took.
///
/// ```
/// let table = multiproc::SpeedupTable::new(std::time::Duration::from_millis(5));
/// let row: multiproc::SpeedupRow = table.rows()[0];
/// assert_eq!((row.workers, row.speedup), (0, 1.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeedupRow {
    /// Number of worker processes; 0 for the sequential run in the calling process.
    pub workers: usize,
    /// Wall-clock time of the run.
    pub time: Duration,
    /// Sequential time divided by this run's time (above 1: faster than sequential).
    pub speedup: f64,
}

/// A speedup table: a sequential baseline and the same job on several numbers of processes.
///
/// `Display` gives a text table; in a notebook (evcxr) the value shows as an HTML bar chart,
/// with the text table as the plain-text fallback.
///
/// ```
/// use std::time::Duration;
/// use multiproc::SpeedupTable;
///
/// let mut table = SpeedupTable::new(Duration::from_millis(800));
/// table.add(1, Duration::from_millis(820));
/// table.add(2, Duration::from_millis(400));
/// assert_eq!(table.rows().len(), 3); // sequential, 1, 2
/// assert!((table.rows()[2].speedup - 2.0).abs() < 1e-9);
/// let text = table.to_string();
/// assert!(text.contains("sequential"));
/// assert!(text.contains("2.00x"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedupTable {
    rows: Vec<SpeedupRow>,
}

impl SpeedupTable {
    /// A table whose baseline is the job run `sequential`ly, in this process (shown as the row
    /// "sequential", speedup 1.00x).
    ///
    /// ```
    /// let table = multiproc::SpeedupTable::new(std::time::Duration::from_millis(10));
    /// assert_eq!(table.rows()[0].workers, 0);
    /// assert_eq!(table.rows()[0].speedup, 1.0);
    /// ```
    pub fn new(sequential: Duration) -> SpeedupTable {
        SpeedupTable { rows: vec![SpeedupRow { workers: 0, time: sequential, speedup: 1.0 }] }
    }

    /// Adds the run on `workers` processes that took `time`; its speedup is computed against
    /// the sequential time (a zero time counts as one nanosecond).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut table = multiproc::SpeedupTable::new(Duration::from_millis(300));
    /// table.add(3, Duration::from_millis(100));
    /// assert!((table.rows()[1].speedup - 3.0).abs() < 1e-9);
    /// ```
    pub fn add(&mut self, workers: usize, time: Duration) -> &mut SpeedupTable {
        let sequential = self.rows[0].time.as_secs_f64();
        let speedup = sequential / time.as_secs_f64().max(1e-9);
        self.rows.push(SpeedupRow { workers, time, speedup });
        self
    }

    /// The rows: the sequential baseline first, then the runs in the order added.
    ///
    /// ```
    /// let table = multiproc::SpeedupTable::new(std::time::Duration::from_millis(1));
    /// assert_eq!(table.rows().len(), 1);
    /// ```
    pub fn rows(&self) -> &[SpeedupRow] {
        &self.rows
    }

    /// The best speedup over the runs on processes (1.0 if there are none).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut table = multiproc::SpeedupTable::new(Duration::from_millis(100));
    /// table.add(1, Duration::from_millis(100)).add(2, Duration::from_millis(50));
    /// assert!((table.best() - 2.0).abs() < 1e-9);
    /// ```
    pub fn best(&self) -> f64 {
        self.rows[1..].iter().map(|r| r.speedup).fold(1.0, f64::max)
    }

    /// An HTML bar chart: one bar per row, its length the speedup, with a mark at the ideal
    /// speedup (the number of processes). Printed by `evcxr_display`.
    ///
    /// ```
    /// let mut table = multiproc::SpeedupTable::new(std::time::Duration::from_millis(10));
    /// table.add(2, std::time::Duration::from_millis(5));
    /// let html = table.to_html();
    /// assert!(html.starts_with("<div"));
    /// assert!(html.contains("2.00x"));
    /// ```
    pub fn to_html(&self) -> String {
        // The scale fits both the best measured speedup and the best ideal one.
        let ideal = self.rows.iter().map(|r| r.workers).max().unwrap_or(1).max(1) as f64;
        let scale = self.rows.iter().map(|r| r.speedup).fold(ideal, f64::max);
        let mut html = String::from(
            "<div style=\"font-family:monospace;font-size:12px\"><div style=\"margin-bottom:4px\">speedup over the sequential run (| marks the ideal: one × per process)</div>",
        );
        for row in &self.rows {
            let width = row.speedup / scale * 100.0;
            let mark = if row.workers == 0 { 1.0 } else { row.workers as f64 } / scale * 100.0;
            let color = if row.workers == 0 { "#999" } else { "hsl(210,60%,55%)" };
            html.push_str(&format!(
                "<div style=\"display:flex;align-items:center;margin:2px 0\">\
                 <span style=\"width:170px\">{} · {:.1} ms</span>\
                 <div style=\"position:relative;height:16px;flex:1;background:#eee\">\
                 <div style=\"position:absolute;left:0;width:{width:.2}%;height:16px;background:{color}\"></div>\
                 <div style=\"position:absolute;left:{mark:.2}%;width:2px;height:16px;background:#333\"></div>\
                 </div><span style=\"width:60px;text-align:right\">{:.2}x</span></div>",
                label(row.workers),
                row.time.as_secs_f64() * 1e3,
                row.speedup
            ));
        }
        html.push_str("</div>");
        html
    }

    /// Shows the table in a notebook: the HTML chart, with the text table as fallback. evcxr
    /// calls it when a cell ends with a `SpeedupTable`; outside a notebook it just prints both.
    ///
    /// ```
    /// let table = multiproc::SpeedupTable::new(std::time::Duration::from_millis(10));
    /// table.evcxr_display(); // prints EVCXR_BEGIN_CONTENT text/html ... and a text/plain block
    /// ```
    pub fn evcxr_display(&self) {
        println!("EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT", self.to_html());
        println!("EVCXR_BEGIN_CONTENT text/plain\n{self}\nEVCXR_END_CONTENT");
    }
}

fn label(workers: usize) -> String {
    match workers {
        0 => "sequential".to_string(),
        1 => "1 process".to_string(),
        n => format!("{n} processes"),
    }
}

impl fmt::Display for SpeedupTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:>12}  {:>10}  {:>8}", "workers", "time ms", "speedup")?;
        for row in &self.rows {
            let workers = if row.workers == 0 { "sequential".to_string() } else { row.workers.to_string() };
            writeln!(f, "{:>12}  {:>10.1}  {:>7.2}x", workers, row.time.as_secs_f64() * 1e3, row.speedup)?;
        }
        Ok(())
    }
}
