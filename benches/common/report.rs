//! Markdown output: the command that produced it, then aligned tables.

use std::time::Duration;

/// Prints the bench title, the exact command (with the `KARMA_BENCH_*`
/// variables in effect) and the machine's parallelism.
pub fn preamble(bench: &str, what: &str) {
    let mut vars: Vec<String> =
        std::env::vars().filter(|(k, _)| k.starts_with("KARMA_BENCH_")).map(|(k, v)| format!("{k}={v}")).collect();
    vars.sort();
    vars.push(format!("cargo bench --bench {bench}"));
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("## Karma {} bench: {what}\n", karma::VERSION);
    println!("Command: `{}`  ", vars.join(" "));
    println!("Machine: {cpus} CPUs, {}/{}\n", std::env::consts::OS, std::env::consts::ARCH);
}

/// A Markdown table, printed with aligned columns.
pub struct Table {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(head: &[&str]) -> Table {
        Table { head: head.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        assert_eq!(cells.len(), self.head.len(), "row width");
        self.rows.push(cells);
    }

    pub fn print(&self) {
        let mut widths: Vec<usize> = self.head.iter().map(|h| h.chars().count().max(3)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let render = |cells: &[String]| {
            let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, &w)| format!("{c:<w$}")).collect();
            format!("| {} |", padded.join(" | "))
        };
        println!("{}", render(&self.head));
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        println!("|-{}-|", rule.join("-|-"));
        for row in &self.rows {
            println!("{}", render(row));
        }
        println!();
    }
}

/// An integer with `,` every three digits.
pub fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate rounded to an integer, grouped.
pub fn fmt_rate(per_sec: f64) -> String {
    fmt_count(per_sec.round() as u64)
}

/// Microseconds with one decimal.
pub fn fmt_us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// Milliseconds with one decimal.
pub fn fmt_ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

/// Mebibytes with one decimal.
pub fn fmt_mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

/// A target and whether it was met: `">= 80% ok"`, `"<= 24 MISSED"`.
pub fn verdict(target: &str, met: bool) -> String {
    format!("{target} {}", if met { "ok" } else { "MISSED" })
}
