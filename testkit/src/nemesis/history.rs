//! The history of a nemesis run: what the clients saw, one JSON object a
//! line as `kafka/tests/clients/nemesis.py` prints it. Keys are `r-<seq>`,
//! `seq` counting the records in the order the producer sent them.

use serde_json::Value;

/// One observation by a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The producer's record was acknowledged (`acks=all`) at `offset`.
    Ack {
        partition: i32,
        offset: i64,
        key: String,
    },
    /// Its delivery failed: indeterminate (it may or may not be stored).
    Failed { partition: i32, key: String },
    /// A consumer-group member consumed a record.
    Consumed {
        group: String,
        partition: i32,
        offset: i64,
        key: String,
    },
    /// A consumer-group member's commit of `offset` was acknowledged.
    Committed {
        group: String,
        partition: i32,
        offset: i64,
    },
    /// The final reader (a fresh consumer from offset 0) read a record.
    Read {
        partition: i32,
        offset: i64,
        key: String,
    },
    /// The group's committed offset as a fresh consumer fetched it at the end.
    FinalCommitted {
        group: String,
        partition: i32,
        offset: i64,
    },
}

/// Every event of a run, in the order each client printed them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// The events.
    pub events: Vec<Event>,
}

impl History {
    /// Adds the events of a client's output; lines that are not events (log
    /// lines, a client's summary) are skipped.
    pub fn extend_from_output(&mut self, output: &str) {
        self.events
            .extend(output.lines().filter_map(|l| parse_line(l.trim())));
    }

    /// The events of `output`.
    pub fn from_output(output: &str) -> Self {
        let mut h = Self::default();
        h.extend_from_output(output);
        h
    }

    /// How many records were acknowledged.
    pub fn acknowledged(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Ack { .. }))
            .count()
    }
}

/// The producer's sequence number of a key `r-<seq>`.
pub fn seq_of(key: &str) -> Option<u64> {
    key.strip_prefix("r-")?.parse().ok()
}

fn parse_line(line: &str) -> Option<Event> {
    if !line.starts_with('{') {
        return None;
    }
    let v: Value = serde_json::from_str(line).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let partition = i32::try_from(v.get("p")?.as_i64()?).ok()?;
    let offset = v.get("o").and_then(Value::as_i64);
    Some(match v.get("t")?.as_str()? {
        "ack" => Event::Ack {
            partition,
            offset: offset?,
            key: s("k")?,
        },
        "fail" => Event::Failed {
            partition,
            key: s("k")?,
        },
        "consumed" => Event::Consumed {
            group: s("g")?,
            partition,
            offset: offset?,
            key: s("k")?,
        },
        "commit" => Event::Committed {
            group: s("g")?,
            partition,
            offset: offset?,
        },
        "read" => Event::Read {
            partition,
            offset: offset?,
            key: s("k")?,
        },
        "committed" => Event::FinalCommitted {
            group: s("g")?,
            partition,
            offset: offset?,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_clients_lines_and_skips_the_rest() {
        let h = History::from_output(
            "%4|librdkafka warning\n\
             {\"t\":\"ack\",\"p\":1,\"o\":7,\"k\":\"r-3\"}\n\
             {\"t\":\"fail\",\"p\":0,\"k\":\"r-4\",\"err\":\"timed out\"}\n\
             {\"t\":\"commit\",\"g\":\"g1\",\"p\":2,\"o\":9}\n\
             {\"t\":\"bogus\",\"p\":0}\n\
             OK done\n",
        );
        assert_eq!(
            h.events,
            vec![
                Event::Ack {
                    partition: 1,
                    offset: 7,
                    key: "r-3".into()
                },
                Event::Failed {
                    partition: 0,
                    key: "r-4".into()
                },
                Event::Committed {
                    group: "g1".into(),
                    partition: 2,
                    offset: 9
                },
            ]
        );
        assert_eq!(seq_of("r-42"), Some(42));
        assert_eq!(seq_of("x"), None);
    }
}
