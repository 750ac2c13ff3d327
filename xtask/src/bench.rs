//! `cargo xtask bench`: run the benchmarks and the Python peers, and write
//! `docs/benchmarks.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Exit;

use regex_lite::Regex;

pub(crate) const HELP: &str = "\
cargo xtask bench: benchmark asyncio-rs against its peers and write docs/benchmarks.md

USAGE:
    cargo xtask bench [--quick] [--no-python] [--runs K]

Runs the criterion workloads (benches/benches/workloads.rs), the memory
bench (benches/benches/memory.rs), the target ratios in paired rounds
(benches/benches/paired.rs) and the Python peers (asyncio and uvloop,
benches/python/bench_asyncio.py, in a virtual environment under target/
that this command creates), then writes the tables to docs/benchmarks.md.
The hand-written history section at the end of that file is kept.

OPTIONS:
    --quick       Shorter measurements (for a first look; noisier)
    --no-python   Skip the Python peers (the table says so)
    --runs K      Run the criterion workloads K times (default 1) and report
                  the median over the runs; the targets also show the range
                  of each ratio over the runs. On a shared machine the load
                  drifts while criterion measures one contender after the
                  other, so a single run's ratio can be off either way.
    -h, --help    Print this message
";

/// Where the hand-written history starts in `docs/benchmarks.md`; the
/// command keeps everything from this line on.
const HISTORY_MARKER: &str = "<!-- history: written by hand, kept by cargo xtask bench -->";

const WORKLOADS: [(&str, &str); 3] = [
    (
        "w1_dispatch",
        "W1 dispatch: `call_soon` N trivial callbacks, run until all ran",
    ),
    (
        "w2_ping_pong",
        "W2 ping-pong: a task awaits a fresh future that a `call_soon` callback completes, N times",
    ),
    (
        "w3_fan_out",
        "W3 fan-out: N/10 futures with 10 done-callbacks each, completed (ns per callback)",
    ),
];

const SIZES: [u64; 3] = [1_000, 10_000, 100_000];

/// The contender every ratio is taken against.
const OURS: &str = "asyncio-rs";

/// One measurement: nanoseconds per operation.
#[derive(Clone, Copy, Debug)]
struct Figure {
    median: f64,
    /// Median absolute deviation (criterion) or half the low-high range (Python).
    spread: f64,
}

struct Settings {
    quick: bool,
    python: bool,
    /// How many times the criterion workloads run; at least 1.
    runs: usize,
}

pub(crate) fn main(root: &Path, arguments: &[String]) -> Exit {
    let mut settings = Settings {
        quick: false,
        python: true,
        runs: 1,
    };
    let mut arguments = arguments.iter();
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--quick" => settings.quick = true,
            "--no-python" => settings.python = false,
            "--runs" => match arguments.next().map(|runs| runs.parse::<usize>()) {
                Some(Ok(runs)) if runs > 0 => settings.runs = runs,
                _ => {
                    eprintln!("error: `--runs` takes a whole number above 0\n\n{HELP}");
                    return Exit::Usage;
                }
            },
            "-h" | "--help" => {
                print!("{HELP}");
                return Exit::Success;
            }
            other => {
                eprintln!("error: unknown option `{other}`\n\n{HELP}");
                return Exit::Usage;
            }
        }
    }
    match run(root, &settings) {
        Ok(path) => {
            println!("bench: wrote {}", path.display());
            Exit::Success
        }
        Err(message) => {
            eprintln!("error: {message}");
            Exit::Failure
        }
    }
}

fn run(root: &Path, settings: &Settings) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut criterion_arguments = vec![
        "bench",
        "--package",
        "asyncio-benches",
        "--bench",
        "workloads",
        "--",
    ];
    if settings.quick {
        criterion_arguments.extend(["--warm-up-time", "0.2", "--measurement-time", "0.5"]);
    }
    let mut runs = Vec::with_capacity(settings.runs);
    for run in 1..=settings.runs {
        eprintln!(
            "bench: running the criterion workloads, run {run} of {} (a few minutes each)",
            settings.runs
        );
        run_status(
            Command::new(&cargo)
                .current_dir(root)
                .args(&criterion_arguments),
        )?;
        runs.push(read_criterion(&crate::target_dir(root).join("criterion"))?);
    }

    eprintln!("bench: measuring memory");
    let memory_output = run_output(Command::new(&cargo).current_dir(root).args([
        "bench",
        "--package",
        "asyncio-benches",
        "--bench",
        "memory",
    ]))?;
    let memory = parse_memory(&memory_output);

    eprintln!("bench: measuring the target ratios in paired rounds");
    let paired_output = run_output(Command::new(&cargo).current_dir(root).args([
        "bench",
        "--package",
        "asyncio-benches",
        "--bench",
        "paired",
    ]))?;
    let paired = parse_paired(&paired_output);
    let scaling = parse_scaling(&paired_output);

    let python = if settings.python {
        eprintln!("bench: running the Python peers");
        python_peers(root, settings.quick)
    } else {
        Err("skipped (`--no-python`)".to_owned())
    };

    let machine = machine(root, python.as_ref().ok().map(|(versions, _)| versions));
    let path = root.join("docs").join("benchmarks.md");
    let history = std::fs::read_to_string(&path)
        .ok()
        .and_then(|old| old.find(HISTORY_MARKER).map(|at| old[at..].to_owned()))
        .unwrap_or_else(|| format!("{HISTORY_MARKER}\n## History\n\n"));
    let mut figures = median_over_runs(&runs);
    let python_note = match python {
        Ok((_, measured)) => {
            figures.extend(measured);
            None
        }
        Err(message) => Some(message),
    };
    let text = render(
        &figures,
        &runs,
        &memory,
        (&paired, &scaling),
        &machine,
        python_note.as_deref(),
        &history,
    );
    std::fs::write(&path, text)
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    Ok(path)
}

fn run_status(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {status}"))
    }
}

fn run_output(command: &mut Command) -> Result<String, String> {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    if !output.status.success() {
        return Err(format!("{command:?} failed: {}", output.status));
    }
    String::from_utf8(output.stdout).map_err(|_| format!("{command:?} printed non-UTF-8"))
}

/// `(workload, contender, n) -> ns per operation`.
type Figures = BTreeMap<(String, String, u64), Figure>;

/// Reads `criterion/<workload>/<contender>/<n>/new/estimates.json`.
fn read_criterion(directory: &Path) -> Result<Figures, String> {
    let median =
        Regex::new(r#""median":\{"confidence_interval":\{[^}]*\},"point_estimate":([0-9.eE+-]+)"#)
            .map_err(|error| error.to_string())?;
    let deviation = Regex::new(
        r#""median_abs_dev":\{"confidence_interval":\{[^}]*\},"point_estimate":([0-9.eE+-]+)"#,
    )
    .map_err(|error| error.to_string())?;
    let mut figures = Figures::new();
    for (workload, _) in WORKLOADS {
        let Ok(contenders) = std::fs::read_dir(directory.join(workload)) else {
            continue;
        };
        for contender in contenders.flatten() {
            let name = contender.file_name().to_string_lossy().into_owned();
            for n in SIZES {
                let path = contender
                    .path()
                    .join(n.to_string())
                    .join("new")
                    .join("estimates.json");
                let Ok(json) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let read = |regex: &Regex| -> Option<f64> {
                    regex.captures(&json)?.get(1)?.as_str().parse().ok()
                };
                let (Some(time), Some(spread)) = (read(&median), read(&deviation)) else {
                    return Err(format!("cannot read the median in {}", path.display()));
                };
                figures.insert(
                    (workload.to_owned(), name.clone(), n),
                    Figure {
                        median: time / n as f64,
                        spread: spread / n as f64,
                    },
                );
            }
        }
    }
    if figures.is_empty() {
        return Err(format!(
            "no criterion results under {}",
            directory.display()
        ));
    }
    Ok(figures)
}

/// Each figure's median and spread over the runs: the median of the runs'
/// medians and of their spreads (the upper middle one for an even count).
fn median_over_runs(runs: &[Figures]) -> Figures {
    let mut per_key: BTreeMap<&(String, String, u64), Vec<Figure>> = BTreeMap::new();
    for run in runs {
        for (key, figure) in run {
            per_key.entry(key).or_default().push(*figure);
        }
    }
    per_key
        .into_iter()
        .map(|(key, figures)| {
            let middle = |value: fn(&Figure) -> f64| {
                let mut values: Vec<f64> = figures.iter().map(value).collect();
                values.sort_by(f64::total_cmp);
                values[values.len() / 2]
            };
            let figure = Figure {
                median: middle(|figure| figure.median),
                spread: middle(|figure| figure.spread),
            };
            (key.clone(), figure)
        })
        .collect()
}

fn parse_memory(output: &str) -> BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(key, value)| (key.to_owned(), value.trim().to_owned()))
        .collect()
}

/// One target ratio from `benches/benches/paired.rs`: its median over the
/// rounds and its quartiles.
#[derive(Clone, Copy, Debug, PartialEq)]
struct PairedRatio {
    rounds: usize,
    low: f64,
    median: f64,
    high: f64,
}

/// `(target, n) -> ratio`.
type Paired = BTreeMap<(String, u64), PairedRatio>;

/// Reads the `paired <target> <n> <rounds> <low> <median> <high>` lines.
fn parse_paired(output: &str) -> Paired {
    output
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let ["paired", target, n, rounds, low, median, high] = fields[..] else {
                return None;
            };
            let ratio = PairedRatio {
                rounds: rounds.parse().ok()?,
                low: low.parse().ok()?,
                median: median.parse().ok()?,
                high: high.parse().ok()?,
            };
            Some(((target.to_owned(), n.parse().ok()?), ratio))
        })
        .collect()
}

/// The size-scaling rows of `benches/benches/paired.rs`: W1 fresh and reused
/// (`fresh <n> <rounds> <ours fresh> <ours reused> <floor fresh> <floor
/// reused>`, ns per callback) and the racing awaiters (`racing <n> <runs>
/// <ns per race>`), and the idle loop (`idle <runs> <wait ms> <CPU µs>
/// <late µs, median> <late µs, max>`).
#[derive(Debug, Default, PartialEq)]
struct Scaling {
    fresh: Vec<(u64, Vec<f64>)>,
    racing: Vec<(u64, f64)>,
    idle: Option<[f64; 5]>,
    /// `threadsafe <producers> <n> <rounds> <floor/ours median low high>
    /// <tokio/ours median low high>`.
    threadsafe: Vec<(u64, u64, [f64; 6])>,
    /// `latency <runs> <ours median> <ours p99> <tokio median> <tokio p99>`, µs.
    latency: Option<[f64; 5]>,
}

fn parse_scaling(output: &str) -> Scaling {
    let mut scaling = Scaling::default();
    for line in output.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            ["fresh", n, _rounds, ref times @ ..] if times.len() == 4 => {
                let times: Option<Vec<f64>> = times.iter().map(|time| time.parse().ok()).collect();
                if let (Ok(n), Some(times)) = (n.parse(), times) {
                    scaling.fresh.push((n, times));
                }
            }
            ["racing", n, _runs, time] => {
                if let (Ok(n), Ok(time)) = (n.parse(), time.parse()) {
                    scaling.racing.push((n, time));
                }
            }
            ["threadsafe", producers, n, _rounds, ref values @ ..] if values.len() == 6 => {
                let values: Option<Vec<f64>> =
                    values.iter().map(|value| value.parse().ok()).collect();
                if let (Ok(producers), Ok(n), Some(Ok(values))) = (
                    producers.parse(),
                    n.parse(),
                    values.map(<[f64; 6]>::try_from),
                ) {
                    scaling.threadsafe.push((producers, n, values));
                }
            }
            ["latency", ref values @ ..] if values.len() == 5 => {
                let values: Option<Vec<f64>> =
                    values.iter().map(|value| value.parse().ok()).collect();
                if let Some(values) = values.and_then(|values| values.try_into().ok()) {
                    scaling.latency = Some(values);
                }
            }
            ["idle", ref values @ ..] if values.len() == 5 => {
                let values: Option<Vec<f64>> =
                    values.iter().map(|value| value.parse().ok()).collect();
                if let Some(values) = values.and_then(|values| values.try_into().ok()) {
                    scaling.idle = Some(values);
                }
            }
            _ => {}
        }
    }
    scaling
}

/// W1 on a fresh loop beside a reused one, and the racing awaiters, as tables.
fn render_scaling(text: &mut String, paired: &Paired, scaling: &Scaling) {
    if !scaling.fresh.is_empty() {
        let _ = writeln!(
            text,
            "\n### W1 on a fresh loop and on a reused one\n\n\
             A fresh loop (or a fresh floor queue) each round pays for growing its queue and for touching\n\
             new pages; a reused one has paid already. Nanoseconds per callback (medians over paired\n\
             rounds), and the floor ratio of each, whose goal is ≥ 1 at every size.\n\n\
             | N | ours, fresh | floor, fresh | floor / ours, fresh | ours, reused | floor, reused | floor / ours, reused |\n\
             |---:|---:|---:|---:|---:|---:|---:|"
        );
        for (n, times) in &scaling.fresh {
            let ratio = |key: &str| {
                paired
                    .get(&(key.to_owned(), *n))
                    .map_or("?".to_owned(), |ratio| {
                        format!("{:.2} ({:.2}–{:.2})", ratio.median, ratio.low, ratio.high)
                    })
            };
            let _ = writeln!(
                text,
                "| {n} | {:.2} | {:.2} | {} | {:.2} | {:.2} | {} |",
                times[0],
                times[2],
                ratio("w1_fresh_floor"),
                times[1],
                times[3],
                ratio("w1_reused_floor")
            );
        }
    }
    if !scaling.racing.is_empty() {
        let _ = writeln!(
            text,
            "\n### Racing awaiters\n\n\
             N races, one after another, of one shutdown future against a fresh future (`select`),\n\
             each polled with a waker of its own, as separate tasks would; the fresh one always wins.\n\
             Each losing wait must leave nothing behind, so the time per race stays flat as N grows\n\
             (before, losers left their wakers: 1128 / 6700 / 16930 ns per race at N = 1000 / 10000 /\n\
             30000, quadratic overall). Median of the runs, fresh loop each run.\n\n\
             | N | ns per race |\n|---:|---:|"
        );
        for (n, time) in &scaling.racing {
            let _ = writeln!(text, "| {n} | {time:.1} |");
        }
    }
    if !scaling.threadsafe.is_empty() {
        let _ = writeln!(
            text,
            "\n### Across threads\n\n\
             Producer threads send N trivial callbacks in all with `call_soon_threadsafe`; the loop\n\
             runs until the last producer's stop. The floor is a bare `crossbeam_queue::SegQueue` of\n\
             boxed closures that the consumer polls in a spin loop (no wake-ups); tokio's shape is\n\
             `Handle::spawn` onto a current-thread runtime. Median ratio over paired rounds\n\
             (quartiles in brackets); goals: ≥ 0.67 of the floor, and faster than tokio.\n\n\
             | producers | N | floor / ours | tokio / ours |\n|---:|---:|---:|---:|"
        );
        for (producers, n, [floor, floor_low, floor_high, tokio, tokio_low, tokio_high]) in
            &scaling.threadsafe
        {
            let _ = writeln!(
                text,
                "| {producers} | {n} | {floor:.2} ({floor_low:.2}–{floor_high:.2}) | {tokio:.2} ({tokio_low:.2}–{tokio_high:.2}) |"
            );
        }
    }
    if let Some([runs, ours, ours_p99, tokio, tokio_p99]) = scaling.latency {
        let _ = writeln!(
            text,
            "\nWake-up latency of an idle loop: another thread sends one callback every millisecond\n\
             ({runs:.0} times), stamped with the time; how long until it runs on the loop's thread\n\
             (tokio: a task spawned with `Handle::spawn`). Goal: no worse than tokio.\n\n\
             | | median | p99 |\n|---|---:|---:|\n\
             | asyncio-rs | {ours:.1} µs | {ours_p99:.1} µs |\n\
             | tokio | {tokio:.1} µs | {tokio_p99:.1} µs |"
        );
    }
    if let Some([runs, wait, cpu, late, late_max]) = scaling.idle {
        let _ = writeln!(
            text,
            "\n### An idle loop\n\n\
             A fresh loop with one timer {wait:.0} ms ahead and nothing else to do waits in the OS\n\
             poller (`polling`: epoll and a timerfd here) with the deadline as its timeout. CPU time\n\
             of the loop's thread while it waits (median of {runs:.0} runs; making the poller\n\
             included), and how long after its deadline the timer's callback ran.\n\n\
             | wait | CPU time | late, median | late, max |\n|---:|---:|---:|---:|\n\
             | {wait:.0} ms | {cpu:.0} µs | {late:.0} µs | {late_max:.0} µs |"
        );
    }
}

/// Creates `target/bench-venv`, installs uvloop, runs the Python script.
fn python_peers(root: &Path, quick: bool) -> Result<(BTreeMap<String, String>, Figures), String> {
    let python = ["python3", "python"]
        .into_iter()
        .find(|candidate| {
            Command::new(candidate)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .ok_or("not measured: no Python interpreter on this machine")?;
    let venv = crate::target_dir(root).join("bench-venv");
    let venv_python = venv.join("bin").join("python");
    if !venv_python.exists() {
        run_status(Command::new(python).args(["-m", "venv"]).arg(&venv)).map_err(|error| {
            format!("not measured: cannot create a virtual environment: {error}")
        })?;
    }
    let mut peers = vec!["asyncio"];
    let uvloop = run_status(
        Command::new(&venv_python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "uvloop",
            ])
            .stdout(Stdio::null()),
    );
    if uvloop.is_ok() {
        peers.push("uvloop");
    }
    let script = root.join("benches").join("python").join("bench_asyncio.py");
    let peer_arguments: Vec<String> = peers
        .iter()
        .flat_map(|peer| ["--peer".to_owned(), (*peer).to_owned()])
        .collect();
    let versions_json = run_output(
        Command::new(&venv_python)
            .arg(&script)
            .args(&peer_arguments)
            .arg("--versions"),
    )?;
    let mut versions = parse_flat_json(&versions_json);
    if uvloop.is_err() {
        versions.insert("uvloop".to_owned(), "not installed (pip failed)".to_owned());
    }
    let repeats = if quick { "3" } else { "9" };
    let output = run_output(
        Command::new(&venv_python)
            .arg(&script)
            .args(&peer_arguments)
            .args(["--repeats", repeats]),
    )?;
    let mut figures = Figures::new();
    for line in output.lines() {
        let fields = parse_flat_json(line);
        let number = |key: &str| fields.get(key).and_then(|value| value.parse::<f64>().ok());
        let (Some(peer), Some(workload), Some(n), Some(median), Some(low), Some(high)) = (
            fields.get("peer"),
            fields.get("workload"),
            number("n"),
            number("median_ns"),
            number("low_ns"),
            number("high_ns"),
        ) else {
            return Err(format!("cannot read the Python result `{line}`"));
        };
        let name = if peer == "asyncio" {
            "CPython asyncio"
        } else {
            "uvloop"
        };
        figures.insert(
            (workload.clone(), name.to_owned(), n as u64),
            Figure {
                median,
                spread: (high - low) / 2.0,
            },
        );
    }
    Ok((versions, figures))
}

/// Reads a one-level JSON object of strings and numbers.
fn parse_flat_json(line: &str) -> BTreeMap<String, String> {
    let pair = Regex::new(r#""([^"]+)":\s*(?:"([^"]*)"|([0-9.eE+-]+))"#).expect("a valid regex");
    pair.captures_iter(line)
        .map(|captures| {
            let value = captures
                .get(2)
                .or_else(|| captures.get(3))
                .map_or("", |m| m.as_str());
            (captures[1].to_owned(), value.to_owned())
        })
        .collect()
}

/// Facts about the machine and the versions compared.
fn machine(root: &Path, python: Option<&BTreeMap<String, String>>) -> Vec<(String, String)> {
    let mut facts = Vec::new();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    facts.push(("CPU".to_owned(), format!("{cpu}, {cores} cores available")));
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();
    facts.push(("rustc".to_owned(), rustc));
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    for package in ["tokio", "async-executor", "futures-executor", "criterion"] {
        let version = lock
            .split("[[package]]")
            .find(|entry| entry.contains(&format!("name = \"{package}\"\n")))
            .and_then(|entry| entry.lines().find(|line| line.starts_with("version")))
            .and_then(|line| line.split('"').nth(1))
            .unwrap_or("?");
        facts.push((package.to_owned(), version.to_owned()));
    }
    match python {
        Some(versions) => {
            for (key, value) in versions {
                facts.push((key.clone(), value.clone()));
            }
        }
        None => facts.push(("Python".to_owned(), "not measured".to_owned())),
    }
    facts
}

/// The ratio of the fastest of `contenders` to ours at each size: how many
/// times faster than the fastest of them we are.
fn ratios(figures: &Figures, workload: &str, contenders: &[&str]) -> Vec<Option<f64>> {
    let get =
        |contender: &str, n: u64| figures.get(&(workload.to_owned(), contender.to_owned(), n));
    SIZES
        .iter()
        .map(|&n| {
            let base = get(OURS, n)?.median;
            contenders
                .iter()
                .filter_map(|contender| get(contender, n))
                .map(|figure| figure.median / base)
                .reduce(f64::min)
        })
        .collect()
}

/// Our W1 over our W3 per callback, at each size.
fn w1_over_w3(figures: &Figures) -> Vec<Option<f64>> {
    let get = |workload: &str, n: u64| {
        figures
            .get(&(workload.to_owned(), OURS.to_owned(), n))
            .map(|figure| figure.median)
    };
    SIZES
        .iter()
        .map(|&n| Some(get("w1_dispatch", n)? / get("w3_fan_out", n)?))
        .collect()
}

/// ` (over the K runs: low–high / …)`: the range of a ratio over the
/// criterion runs, at each size; empty for a single run, and for a ratio the
/// runs do not measure (the Python peers run once, outside them).
fn range_over_runs(runs: &[Figures], ratio: impl Fn(&Figures) -> Vec<Option<f64>>) -> String {
    if runs.len() < 2 {
        return String::new();
    }
    let per_run: Vec<Vec<Option<f64>>> = runs.iter().map(ratio).collect();
    if per_run.iter().flatten().all(Option::is_none) {
        return String::new();
    }
    let spans: Vec<String> = (0..SIZES.len())
        .map(|size| {
            let values = per_run.iter().filter_map(|ratios| ratios[size]);
            let low = values.clone().reduce(f64::min);
            let high = values.reduce(f64::max);
            match (low, high) {
                (Some(low), Some(high)) => format!("{low:.2}–{high:.2}"),
                _ => "?".to_owned(),
            }
        })
        .collect();
    format!(" (over the {} runs: {})", runs.len(), spans.join(" / "))
}

fn render(
    figures: &Figures,
    runs: &[Figures],
    memory: &BTreeMap<String, String>,
    // The paired bench's two outputs: its ratios and its size-scaling rows.
    (paired, scaling): (&Paired, &Scaling),
    machine: &[(String, String)],
    python_note: Option<&str>,
    history: &str,
) -> String {
    let mut text = String::new();
    let ours = OURS;
    let get = |workload: &str, contender: &str, n: u64| {
        figures
            .get(&(workload.to_owned(), contender.to_owned(), n))
            .copied()
    };
    let _ = writeln!(
        text,
        "# Benchmarks\n\n<!-- Generated by `cargo xtask bench`, do not edit above the history marker. -->\n\n\
         asyncio-rs against the loops a user would pick instead, and against the floor: a bare\n\
         `VecDeque<Box<dyn FnOnce()>>`. All figures are nanoseconds per operation, measured by one\n\
         `cargo xtask bench` on the machine below: the median, ± its spread (criterion's median\n\
         absolute deviation; for Python, half the range of 9 repeats). \"× ours\" is the contender's\n\
         median over asyncio-rs's: above 1 means asyncio-rs is faster. The machine is a shared 2-core VM, so\n\
         compare ratios within this page, not with other runs.\n"
    );
    if runs.len() > 1 {
        let _ = writeln!(
            text,
            "The Rust figures are the median over {} runs of the criterion workloads (of each run's\n\
             median, and of the runs' spreads); the targets below also give each ratio's range over\n\
             the runs.\n",
            runs.len()
        );
    }
    if let Some(note) = python_note {
        let _ = writeln!(text, "> Python peers: {note}.\n");
    }
    for (workload, title) in WORKLOADS {
        let _ = writeln!(text, "## {title}\n");
        let mut contenders: Vec<String> = figures
            .keys()
            .filter(|(w, _, _)| w == workload)
            .map(|(_, contender, _)| contender.clone())
            .collect();
        contenders.dedup();
        contenders
            .sort_by_key(|contender| (contender != ours, contender != "floor", contender.clone()));
        let _ = write!(text, "| contender |");
        for n in SIZES {
            let _ = write!(text, " N = {n} | × ours |");
        }
        let _ = writeln!(text, "\n|---|{}", "---:|---:|".repeat(SIZES.len()));
        for contender in &contenders {
            let _ = write!(text, "| {contender} |");
            for n in SIZES {
                match (get(workload, contender, n), get(workload, ours, n)) {
                    (Some(figure), Some(base)) => {
                        let _ = write!(
                            text,
                            " {:.1} ± {:.1} | {:.2} |",
                            figure.median,
                            figure.spread,
                            figure.median / base.median
                        );
                    }
                    (Some(figure), None) => {
                        let _ = write!(text, " {:.1} ± {:.1} | |", figure.median, figure.spread);
                    }
                    _ => {
                        let _ = write!(text, " | |");
                    }
                }
            }
            let _ = writeln!(text);
        }
        if workload == "w3_fan_out" {
            let _ = writeln!(
                text,
                "\nThe Rust peers have no done-callbacks, so W3 compares asyncio-rs with the Python loops only."
            );
        }
        let _ = writeln!(text);
    }

    let _ = writeln!(text, "## Memory and allocations\n\nMeasured by `benches/benches/memory.rs` with a counting global allocator, at N = {}.\n", memory.get("n").map_or("?", String::as_str));
    let _ = writeln!(text, "| figure | value |\n|---|---:|");
    for (key, label) in [
        (
            "bytes_per_pending_callback",
            "heap bytes per pending callback, beyond its 8-byte closure",
        ),
        (
            "bytes_per_pending_callback_floor",
            "the same for the floor (the closure's box only)",
        ),
        (
            "bytes_per_pending_future",
            "heap bytes per pending future, beyond its handle",
        ),
        ("peak_rss_kib", "peak RSS of the whole memory bench, KiB"),
        (
            "allocations_per_call_soon",
            "allocations per `call_soon` (W1), steady state",
        ),
        (
            "allocations_per_floor_callback",
            "allocations per floor callback",
        ),
        (
            "allocations_per_ping_pong",
            "allocations per W2 round trip (the new future)",
        ),
        (
            "allocations_per_fan_out_callback",
            "allocations per W3 done-callback",
        ),
        ("burst_callbacks", "callbacks in one burst on a fresh loop"),
        (
            "bytes_kept_after_burst",
            "heap bytes the loop keeps right after running the burst",
        ),
        (
            "bytes_kept_after_drain",
            "heap bytes it keeps after eight more (quiet) iterations",
        ),
        (
            "cancelled_timers",
            "timers scheduled and cancelled, one after another",
        ),
        (
            "timer_bytes_peak_while_cancelling",
            "peak heap bytes of the timers meanwhile",
        ),
        ("timer_bytes_with_n_live", "heap bytes with N live timers"),
        (
            "timer_bytes_after_cancelling_all",
            "heap bytes once those N are cancelled",
        ),
    ] {
        let _ = writeln!(
            text,
            "| {label} | {} |",
            memory.get(key).map_or("?", String::as_str)
        );
    }

    let _ = writeln!(text, "\n## Targets\n\nFrom the benchmarks issue, checked against the figures above (N = 1000 / 10000 / 100000):\n");
    let show = |ratios: &[Option<f64>], goal: f64| -> String {
        let values: Vec<String> = ratios
            .iter()
            .map(|ratio| ratio.map_or("?".to_owned(), |ratio| format!("{ratio:.2}×")))
            .collect();
        let met = ratios
            .iter()
            .all(|ratio| ratio.is_some_and(|ratio| ratio >= goal));
        format!(
            "{} — {}",
            values.join(" / "),
            if met { "met" } else { "not met" }
        )
    };
    let rust_peers = ["async-executor", "LocalPool", "tokio"];
    // One line per ratio target: the ratio on the figures above, then its
    // range over the criterion runs.
    let mut target = |label: &str, goal: f64, ratio: &dyn Fn(&Figures) -> Vec<Option<f64>>| {
        let _ = writeln!(
            text,
            "- {label}: {}{}",
            show(&ratio(figures), goal),
            range_over_runs(runs, ratio)
        );
    };
    target(
        "W1 no slower than the floor (floor / ours ≥ 1)",
        1.0,
        &|run| ratios(run, "w1_dispatch", &["floor"]),
    );
    target("W1 ≥ 3× faster than the fastest Rust peer", 3.0, &|run| {
        ratios(run, "w1_dispatch", &rust_peers)
    });
    target("W1 ≥ 15× faster than uvloop", 15.0, &|run| {
        ratios(run, "w1_dispatch", &["uvloop"])
    });
    target(
        "W2 ≥ 2.5× faster than the fastest Rust peer",
        2.5,
        &|run| ratios(run, "w2_ping_pong", &rust_peers),
    );
    target(
        "W3 per callback ≤ 1.5× our W1 (W1 / W3 ≥ 0.67)",
        1.0 / 1.5,
        &w1_over_w3,
    );
    let number = |key: &str| memory.get(key).and_then(|value| value.parse::<f64>().ok());
    let check = |value: Option<f64>, limit: f64| match value {
        Some(value) if value <= limit => format!("{value} — met"),
        Some(value) => format!("{value} — not met"),
        None => "? — not measured".to_owned(),
    };
    let _ = writeln!(
        text,
        "- ≤ 64 bytes per pending callback beyond its closure: {}",
        check(number("bytes_per_pending_callback"), 64.0)
    );
    let _ = writeln!(
        text,
        "- ≤ 128 bytes per pending future: {}",
        check(number("bytes_per_pending_future"), 128.0)
    );
    let _ = writeln!(
        text,
        "- no allocation per `call_soon` beyond the closure's box, none for an inline closure: {}",
        check(number("allocations_per_call_soon"), 0.0)
    );

    render_paired(&mut text, paired);
    render_scaling(&mut text, paired, scaling);

    let _ = writeln!(text, "\n## Machine and versions\n\n| | |\n|---|---|");
    for (key, value) in machine {
        let _ = writeln!(text, "| {key} | {value} |");
    }
    let _ = writeln!(
        text,
        "\n## Reproduce\n\n```sh\ncargo xtask bench            # everything above; creates target/bench-venv for uvloop\n\
         cargo xtask bench --quick    # shorter runs, noisier\n\
         cargo xtask bench --runs 3   # the criterion workloads 3 times: medians, and each ratio's range\n\
         cargo bench -p asyncio-benches --bench workloads -- w1_dispatch   # one workload\n\
         cargo bench -p asyncio-benches --bench memory\n\
         cargo bench -p asyncio-benches --bench paired   # the target ratios in paired rounds\n```\n"
    );
    text.push_str(history);
    text
}

/// The targets measured in paired rounds, as a table; nothing when the
/// paired bench printed nothing.
fn render_paired(text: &mut String, paired: &Paired) {
    if paired.is_empty() {
        return;
    }
    let _ = writeln!(
        text,
        "\n### The same ratios in paired rounds\n\n\
         criterion measures one contender for a few seconds, then the next, and the load of a shared\n\
         machine drifts in between. `benches/benches/paired.rs` runs every contender of a workload once\n\
         per round, starting each round with a different one, and takes each ratio within a round. The\n\
         table gives the median ratio over the rounds and, in brackets, its quartiles.\n"
    );
    let _ = write!(text, "| target | goal |");
    for n in SIZES {
        let _ = write!(text, " N = {n} |");
    }
    let _ = writeln!(text, " |\n|---|---:|{}---|", "---:|".repeat(SIZES.len()));
    for (key, label, goal) in [
        ("w1_floor", "W1: floor / ours", 1.0),
        ("w1_rust_peers", "W1: fastest Rust peer / ours", 3.0),
        ("w2_rust_peers", "W2: fastest Rust peer / ours", 2.5),
        ("w1_over_w3", "W3: our W1 / our W3, per callback", 1.0 / 1.5),
        ("timers_floor", "Timers: floor / ours", 1.0 / 1.5),
        (
            "timers_rust_peers",
            "Timers: tokio (paused time) / ours",
            3.0,
        ),
    ] {
        let ratios: Vec<Option<&PairedRatio>> = SIZES
            .iter()
            .map(|&n| paired.get(&(key.to_owned(), n)))
            .collect();
        let _ = write!(text, "| {label} | ≥ {goal:.2} |");
        for ratio in &ratios {
            match ratio {
                Some(ratio) => {
                    let _ = write!(
                        text,
                        " {:.2} ({:.2}–{:.2}) |",
                        ratio.median, ratio.low, ratio.high
                    );
                }
                None => {
                    let _ = write!(text, " ? |");
                }
            }
        }
        let met = ratios
            .iter()
            .all(|ratio| ratio.is_some_and(|ratio| ratio.median >= goal));
        let _ = writeln!(text, " {} |", if met { "met" } else { "not met" });
    }
    let rounds: Vec<String> = SIZES
        .iter()
        .map(|&n| {
            paired
                .get(&("w2_rust_peers".to_owned(), n))
                .map_or("?".to_owned(), |ratio| ratio.rounds.to_string())
        })
        .collect();
    let _ = writeln!(text, "\nRounds per size: {}.", rounds.join(" / "));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_json_reads_strings_and_numbers() {
        let fields = parse_flat_json(r#"{"peer": "uvloop", "n": 1000, "median_ns": 812.5e0}"#);
        assert_eq!(fields["peer"], "uvloop");
        assert_eq!(fields["n"], "1000");
        assert_eq!(fields["median_ns"], "812.5e0");
    }

    #[test]
    fn memory_lines_become_a_map() {
        let memory = parse_memory("n 1000\nbytes_per_pending_future 128.0\n");
        assert_eq!(memory["n"], "1000");
        assert_eq!(memory["bytes_per_pending_future"], "128.0");
    }

    #[test]
    fn render_computes_ratios_and_keeps_the_history() {
        let mut figures = Figures::new();
        for n in SIZES {
            figures.insert(
                ("w1_dispatch".into(), "asyncio-rs".into(), n),
                Figure {
                    median: 20.0,
                    spread: 1.0,
                },
            );
            figures.insert(
                ("w1_dispatch".into(), "floor".into(), n),
                Figure {
                    median: 30.0,
                    spread: 1.0,
                },
            );
            figures.insert(
                ("w1_dispatch".into(), "LocalPool".into(), n),
                Figure {
                    median: 100.0,
                    spread: 2.0,
                },
            );
        }
        let history = format!("{HISTORY_MARKER}\n## History\n\n- kept\n");
        let text = render(
            &figures,
            &[figures.clone()],
            &BTreeMap::new(),
            (&Paired::new(), &Scaling::default()),
            &[],
            Some("skipped"),
            &history,
        );
        assert!(
            text.contains("| asyncio-rs | 20.0 ± 1.0 | 1.00 |"),
            "{text}"
        );
        assert!(
            text.contains("| LocalPool | 100.0 ± 2.0 | 5.00 |"),
            "{text}"
        );
        assert!(
            text.contains(
                "- W1 no slower than the floor (floor / ours ≥ 1): 1.50× / 1.50× / 1.50× — met"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "- W1 ≥ 3× faster than the fastest Rust peer: 5.00× / 5.00× / 5.00× — met"
            ),
            "{text}"
        );
        assert!(text.contains("> Python peers: skipped."));
        assert!(
            !text.contains("### The same ratios in paired rounds"),
            "no paired figures, no table: {text}"
        );
        assert!(!text.contains("over the"), "one run has no range: {text}");
        assert!(text.ends_with("- kept\n"));
    }

    fn one_figure(workload: &str, contender: &str, median: f64, spread: f64) -> Figures {
        SIZES
            .iter()
            .map(|&n| {
                (
                    (workload.to_owned(), contender.to_owned(), n),
                    Figure { median, spread },
                )
            })
            .collect()
    }

    #[test]
    fn several_runs_give_medians_and_the_range_of_each_ratio() {
        let runs: Vec<Figures> = [(10.0, 20.0), (12.0, 30.0), (11.0, 33.0)]
            .into_iter()
            .map(|(ours, floor)| {
                let mut run = one_figure("w1_dispatch", "asyncio-rs", ours, ours / 10.0);
                run.extend(one_figure("w1_dispatch", "floor", floor, 1.0));
                run
            })
            .collect();
        let figures = median_over_runs(&runs);
        let ours = figures[&("w1_dispatch".to_owned(), "asyncio-rs".to_owned(), 1000)];
        assert_eq!((ours.median, ours.spread), (11.0, 1.1));
        let text = render(
            &figures,
            &runs,
            &BTreeMap::new(),
            (&Paired::new(), &Scaling::default()),
            &[],
            None,
            "",
        );
        // The ratio of the medians (30 / 11), then the per-run ratios' range:
        // 20 / 10 = 2.00 up to 33 / 11 = 3.00.
        assert!(
            text.contains(
                "- W1 no slower than the floor (floor / ours ≥ 1): 2.73× / 2.73× / 2.73× — met \
                 (over the 3 runs: 2.00–3.00 / 2.00–3.00 / 2.00–3.00)"
            ),
            "{text}"
        );
        assert!(text.contains("median over 3 runs"), "{text}");
    }

    #[test]
    fn scaling_lines_become_tables() {
        let output = "fresh 10000 1000 6.50 4.10 30.00 20.00\nfresh 1 x\nracing 1000 11 80.5\nracing x 1 2\nidle 5 1000 110 155 162\nidle 1\nthreadsafe 3 100000 30 0.96 0.76 1.41 5.44 4.19 6.53\nthreadsafe 1 x\nlatency 500 8.4 39.1 7.5 59.9\npaired w1_fresh_floor 10000 1000 4.0 4.6 5.0\n";
        let scaling = parse_scaling(output);
        assert_eq!(
            scaling,
            Scaling {
                fresh: vec![(10_000, vec![6.5, 4.1, 30.0, 20.0])],
                racing: vec![(1000, 80.5)],
                idle: Some([5.0, 1000.0, 110.0, 155.0, 162.0]),
                threadsafe: vec![(3, 100_000, [0.96, 0.76, 1.41, 5.44, 4.19, 6.53])],
                latency: Some([500.0, 8.4, 39.1, 7.5, 59.9]),
            }
        );
        let mut text = String::new();
        render_scaling(&mut text, &parse_paired(output), &scaling);
        assert!(
            text.contains("| 10000 | 6.50 | 30.00 | 4.60 (4.00–5.00) | 4.10 | 20.00 | ? |"),
            "{text}"
        );
        assert!(text.contains("| 1000 | 80.5 |"), "{text}");
        assert!(
            text.contains("| 1000 ms | 110 µs | 155 µs | 162 µs |"),
            "{text}"
        );
        assert!(
            text.contains("| 3 | 100000 | 0.96 (0.76–1.41) | 5.44 (4.19–6.53) |"),
            "{text}"
        );
        assert!(text.contains("| tokio | 7.5 µs | 59.9 µs |"), "{text}");
    }

    #[test]
    fn paired_lines_become_a_table_with_each_target_checked() {
        let mut output =
            String::from("n 1000\nnot a paired line\npaired w2_rust_peers 10 x 1 2 3\n");
        for n in SIZES {
            let _ = writeln!(output, "paired w2_rust_peers {n} 60 1.800 2.600 2.700");
            let _ = writeln!(
                output,
                "paired w1_floor {n} 60 0.900 {} 1.200",
                if n == 1000 { "0.950" } else { "1.100" }
            );
        }
        let paired = parse_paired(&output);
        assert_eq!(paired.len(), 6, "malformed lines are skipped: {paired:?}");
        assert_eq!(
            paired[&("w2_rust_peers".to_owned(), 1000)],
            PairedRatio {
                rounds: 60,
                low: 1.8,
                median: 2.6,
                high: 2.7
            }
        );
        let mut text = String::new();
        render_paired(&mut text, &paired);
        assert!(
            text.contains(
                "| W2: fastest Rust peer / ours | ≥ 2.50 | 2.60 (1.80–2.70) | 2.60 (1.80–2.70) | 2.60 (1.80–2.70) | met |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| W1: floor / ours | ≥ 1.00 | 0.95 (0.90–1.20) | 1.10 (0.90–1.20) | 1.10 (0.90–1.20) | not met |"),
            "one size below the goal: {text}"
        );
        assert!(
            text.contains("| W3: our W1 / our W3, per callback | ≥ 0.67 | ? | ? | ? | not met |"),
            "{text}"
        );
        assert!(text.contains("Rounds per size: 60 / 60 / 60."), "{text}");
    }

    #[test]
    fn runs_takes_a_positive_count() {
        let root = Path::new(".");
        for bad in [&["--runs"][..], &["--runs", "0"], &["--runs", "two"]] {
            let arguments: Vec<String> = bad.iter().map(|&a| a.to_owned()).collect();
            assert_eq!(main(root, &arguments), Exit::Usage);
        }
    }

    #[test]
    fn criterion_estimates_are_read_per_operation() {
        let directory =
            std::env::temp_dir().join(format!("xtask-bench-test-{}", std::process::id()));
        let path = directory.join("w1_dispatch/floor/1000/new");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(
            path.join("estimates.json"),
            r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.5,"standard_error":0.1},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":35000.0,"standard_error":0.1},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":500.0,"standard_error":0.1}}"#,
        )
        .unwrap();
        let figures = read_criterion(&directory).unwrap();
        let figure = figures[&("w1_dispatch".to_owned(), "floor".to_owned(), 1000)];
        assert_eq!((figure.median, figure.spread), (35.0, 0.5));
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
