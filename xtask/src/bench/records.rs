//! What the bench binaries and the Python script print, read with
//! `serde_json`: one JSON record per line (the format is documented in
//! `asyncio_benches::report`), and criterion's `estimates.json` files.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// One measurement line.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "record", rename_all = "snake_case")]
pub(crate) enum Record {
    /// A target ratio over paired rounds.
    Ratio {
        target: String,
        n: u64,
        rounds: usize,
        low: f64,
        median: f64,
        high: f64,
    },
    /// One contender's nanoseconds per operation (paired rounds, or the
    /// Python repeats).
    Time {
        workload: String,
        contender: String,
        n: u64,
        rounds: usize,
        median_ns: f64,
        low_ns: f64,
        high_ns: f64,
    },
    /// One row of a declared table.
    Row {
        table: String,
        cells: BTreeMap<String, Value>,
    },
    /// One figure of the memory bench.
    Memory { key: String, value: Value },
}

/// Every record in `output`: the lines that are JSON objects (the others are
/// cargo's and criterion's). A line that is an object but not a record is an
/// error: the benches and this reader disagree.
pub(crate) fn read(output: &str) -> Result<Vec<Record>, String> {
    output
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with('{'))
        .map(|line| {
            serde_json::from_str(line)
                .map_err(|error| format!("cannot read the bench record `{line}`: {error}"))
        })
        .collect()
}

/// One measurement: nanoseconds per operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Figure {
    pub(crate) median: f64,
    /// criterion's median absolute deviation; half the quartile range over
    /// paired rounds; half the low-high range of the Python repeats.
    pub(crate) spread: f64,
}

/// `(workload, contender, n) -> figure`.
pub(crate) type Figures = BTreeMap<(String, String, u64), Figure>;

/// A target ratio over paired rounds: its median and quartiles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ratio {
    pub(crate) rounds: usize,
    pub(crate) low: f64,
    pub(crate) median: f64,
    pub(crate) high: f64,
}

/// `(target, n) -> ratio`.
pub(crate) type Ratios = BTreeMap<(String, u64), Ratio>;

/// Everything measured, sorted by kind.
#[derive(Debug, Default)]
pub(crate) struct Measured {
    /// Nanoseconds per operation: criterion's (the median over the runs), the
    /// paired rounds' and the Python peers'.
    pub(crate) figures: Figures,
    /// Each criterion run's figures, for the range of a ratio over the runs.
    pub(crate) runs: Vec<Figures>,
    pub(crate) ratios: Ratios,
    /// Table name -> its rows, in the order they came.
    pub(crate) rows: BTreeMap<String, Vec<BTreeMap<String, Value>>>,
    pub(crate) memory: BTreeMap<String, Value>,
}

impl Measured {
    /// Sorts `records` into place.
    pub(crate) fn add(&mut self, records: Vec<Record>) {
        for record in records {
            match record {
                Record::Ratio {
                    target,
                    n,
                    rounds,
                    low,
                    median,
                    high,
                } => {
                    let ratio = Ratio {
                        rounds,
                        low,
                        median,
                        high,
                    };
                    self.ratios.insert((target, n), ratio);
                }
                Record::Time {
                    workload,
                    contender,
                    n,
                    median_ns,
                    low_ns,
                    high_ns,
                    ..
                } => {
                    let figure = Figure {
                        median: median_ns,
                        spread: (high_ns - low_ns) / 2.0,
                    };
                    self.figures.insert((workload, contender, n), figure);
                }
                Record::Row { table, cells } => self.rows.entry(table).or_default().push(cells),
                Record::Memory { key, value } => {
                    self.memory.insert(key, value);
                }
            }
        }
    }
}

#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
    median_abs_dev: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

/// criterion's results for `workloads` under `directory`
/// (`<workload>/<contender>/<n>/new/estimates.json`), per operation.
pub(crate) fn read_criterion(directory: &Path, workloads: &[&str]) -> Result<Figures, String> {
    let mut figures = Figures::new();
    for workload in workloads {
        let Ok(contenders) = std::fs::read_dir(directory.join(workload)) else {
            continue;
        };
        for contender in contenders.flatten() {
            let name = contender.file_name().to_string_lossy().into_owned();
            let Ok(sizes) = std::fs::read_dir(contender.path()) else {
                continue;
            };
            for size in sizes.flatten() {
                let Ok(n) = size.file_name().to_string_lossy().parse::<u64>() else {
                    continue; // criterion's `report` folder
                };
                let path = size.path().join("new").join("estimates.json");
                let Ok(json) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let estimates: Estimates = serde_json::from_str(&json)
                    .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
                figures.insert(
                    ((*workload).to_owned(), name.clone(), n),
                    Figure {
                        median: estimates.median.point_estimate / n as f64,
                        spread: estimates.median_abs_dev.point_estimate / n as f64,
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
pub(crate) fn median_over_runs(runs: &[Figures]) -> Figures {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_from_the_lines_that_are_objects() {
        let output = "   Compiling x\n\
            {\"record\":\"ratio\",\"target\":\"w1_floor\",\"n\":1000,\"rounds\":60,\"low\":0.9,\"median\":1.1,\"high\":1.2}\n\
            not json\n\
            {\"record\":\"time\",\"workload\":\"timers\",\"contender\":\"tokio\",\"n\":10,\"rounds\":3,\"median_ns\":5.0,\"low_ns\":4.0,\"high_ns\":8.0}\n\
            {\"record\":\"row\",\"table\":\"idle\",\"cells\":{\"cpu_us\":110}}\n\
            {\"record\":\"memory\",\"key\":\"n\",\"value\":1000}\n";
        let mut measured = Measured::default();
        measured.add(read(output).unwrap());
        assert_eq!(
            measured.ratios[&("w1_floor".to_owned(), 1000)],
            Ratio {
                rounds: 60,
                low: 0.9,
                median: 1.1,
                high: 1.2
            }
        );
        let figure = measured.figures[&("timers".to_owned(), "tokio".to_owned(), 10)];
        assert_eq!((figure.median, figure.spread), (5.0, 2.0));
        assert_eq!(measured.rows["idle"][0]["cpu_us"], 110);
        assert_eq!(measured.memory["n"], 1000);
    }

    #[test]
    fn an_object_that_is_no_record_is_an_error() {
        let error = read("{\"record\":\"ratio\",\"target\":\"x\"}\n").unwrap_err();
        assert!(error.contains("cannot read the bench record"), "{error}");
        assert!(read("{\"peer\":\"uvloop\"}").is_err());
    }

    #[test]
    fn criterion_estimates_are_read_per_operation() {
        let directory =
            std::env::temp_dir().join(format!("xtask-bench-test-{}", std::process::id()));
        let path = directory.join("w1_dispatch/floor/1000/new");
        std::fs::create_dir_all(&path).unwrap();
        std::fs::create_dir_all(directory.join("w1_dispatch/floor/report")).unwrap();
        std::fs::write(
            path.join("estimates.json"),
            r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":1.5,"standard_error":0.1},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":35000.0,"standard_error":0.1},"median_abs_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":2.0},"point_estimate":500.0,"standard_error":0.1}}"#,
        )
        .unwrap();
        let figures = read_criterion(&directory, &["w1_dispatch", "w2_ping_pong"]).unwrap();
        let figure = figures[&("w1_dispatch".to_owned(), "floor".to_owned(), 1000)];
        assert_eq!((figure.median, figure.spread), (35.0, 0.5));
        std::fs::write(path.join("estimates.json"), "{\"median\": 3}").unwrap();
        assert!(read_criterion(&directory, &["w1_dispatch"])
            .unwrap_err()
            .contains("cannot read"));
        std::fs::remove_dir_all(&directory).unwrap();
    }

    #[test]
    fn several_runs_give_each_figure_its_median() {
        let run = |median: f64| -> Figures {
            [(
                ("w1".to_owned(), "ours".to_owned(), 10),
                Figure {
                    median,
                    spread: median / 10.0,
                },
            )]
            .into_iter()
            .collect()
        };
        let figures = median_over_runs(&[run(10.0), run(12.0), run(11.0)]);
        let figure = figures[&("w1".to_owned(), "ours".to_owned(), 10)];
        assert_eq!((figure.median, figure.spread), (11.0, 1.1));
    }
}
