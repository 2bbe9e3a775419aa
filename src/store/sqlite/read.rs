//! Reads. Every one is exact: a counter's hits are its row in `counters`
//! (and `daily`) plus what `hit_log` holds for it and has not been folded
//! yet. That rule is written once, in the two macros below (one for reads
//! of a single counter, one for scans); no other read touches `count` or
//! `hits` directly.

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};

use rusqlite::Result;

use super::{count, day_text, DayRow, Sqlite, Stored};

/// Logged `hits` or `uniques` (`$col`) of the counter whose id is the SQL
/// expression `$id`, in total or on day `$day`: for reads of one counter
/// (the log holds a few seconds of hits; a scan of it is cheap, an index on
/// it would not be).
macro_rules! logged {
    ($col:literal, $id:literal) => {
        concat!("IFNULL((SELECT SUM(l.", $col, ") FROM hit_log l WHERE l.counter_id = ", $id, "), 0)")
    };
    ($col:literal, $id:literal, $day:literal) => {
        concat!(
            "IFNULL((SELECT SUM(l.",
            $col,
            ") FROM hit_log l WHERE l.counter_id = ",
            $id,
            " AND l.day = ",
            $day,
            "), 0)"
        )
    };
}

/// The logged hits of every counter with an id above `$after` as a table
/// `lg(counter_id, hits, on_day, uniques)` to LEFT JOIN (hits in all and on
/// day `$day`, new visitors), for scans over many counters: one pass over
/// the log.
macro_rules! logged_per_counter {
    ($after:literal, $day:literal) => {
        concat!(
            "LEFT JOIN (SELECT counter_id, SUM(hits) AS hits, SUM(CASE WHEN day = ",
            $day,
            " THEN hits ELSE 0 END) AS on_day, SUM(uniques) AS uniques FROM hit_log WHERE counter_id > ",
            $after,
            " GROUP BY counter_id) lg ON lg.counter_id = c.id"
        )
    };
}

impl Sqlite {
    /// A key's total and its hits on `day` (zeros for an unknown key), read
    /// in one statement, so one snapshot.
    pub fn counts(&self, key: &str, day: NaiveDate) -> Result<Stored> {
        Sqlite::counts_in(&self.conn, key, day)
    }

    /// [`Store::counts`] on any connection (or transaction).
    pub(super) fn counts_in(conn: &Connection, key: &str, day: NaiveDate) -> Result<Stored> {
        conn.prepare_cached(concat!(
            // One row whether or not the key exists, and one descent of
            // the key index: this runs when memory cannot answer.
            "SELECT c.count + ",
            logged!("hits", "c.id"),
            ", IFNULL((SELECT hits FROM daily WHERE day = ?2 AND counter_id = c.id), 0) + ",
            logged!("hits", "c.id", "?2"),
            ", (SELECT MAX(id) FROM admin_events), c.uniques + ",
            logged!("uniques", "c.id"),
            " FROM (SELECT 1) LEFT JOIN counters c ON c.key = ?1"
        ))?
        .query_row(params![key, day_text(day)], |r| {
            Ok(Stored {
                total: count(r.get::<_, Option<i64>>(0)?.unwrap_or(0)),
                today: count(r.get::<_, Option<i64>>(1)?.unwrap_or(0)),
                event: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                visitors: count(r.get::<_, Option<i64>>(3)?.unwrap_or(0)),
            })
        })
    }

    /// A key's total; `None` when it has no counter.
    pub fn get(&self, key: &str) -> Result<Option<u64>> {
        self.conn
            .prepare_cached(concat!("SELECT c.count + ", logged!("hits", "c.id"), " FROM counters c WHERE c.key = ?1"))?
            .query_row([key], |r| r.get::<_, i64>(0))
            .optional()
            .map(|c| c.map(count))
    }

    /// A key's hits on each of `days`, with its unique visitors (`None`
    /// where they were not recorded: days before visitors were counted);
    /// days without hits are left out. One point lookup per day: `daily` is
    /// keyed by day first, so a range scan would read every counter's rows.
    pub fn history(&self, key: &str, days: &[NaiveDate]) -> Result<Vec<(NaiveDate, u64, Option<u64>)>> {
        let id: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM counters WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?;
        let Some(id) = id else { return Ok(Vec::new()) };
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT d.hits, d.uniques, ",
            logged!("hits", "?2", "?1"),
            ", ",
            logged!("uniques", "?2", "?1"),
            " FROM (SELECT 1) LEFT JOIN daily d ON d.day = ?1 AND d.counter_id = ?2"
        ))?;
        let mut out = Vec::new();
        for day in days {
            let (stored, uniques, logged, logged_uniques): (Option<i64>, Option<i64>, i64, i64) =
                stmt.query_row(params![day_text(*day), id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            if stored.is_some() || logged > 0 {
                let visitors = match (stored, uniques) {
                    // A row from before visitors were counted, and nothing since.
                    (Some(_), None) if logged_uniques == 0 => None,
                    _ => Some(count(uniques.unwrap_or(0) + logged_uniques)),
                };
                out.push((*day, count(stored.unwrap_or(0) + logged), visitors));
            }
        }
        Ok(out)
    }

    /// Number of counters.
    pub fn counter_rows(&self) -> Result<u64> {
        self.conn.query_row("SELECT COUNT(*) FROM counters", [], |r| r.get::<_, i64>(0)).map(count)
    }

    /// Counters by total, biggest first; `limit` None for all. Calls `f`
    /// per row so exports of millions of rows stream instead of filling
    /// memory.
    pub fn each_by_count(
        &self,
        limit: Option<u64>,
        mut f: impl FnMut(&str, u64) -> std::io::Result<()>,
    ) -> std::result::Result<(), String> {
        let limit = limit.map_or(-1, |l| l.min(i64::MAX as u64) as i64);
        let mut stmt = self
            .conn
            .prepare(concat!(
                "SELECT c.key, c.count + IFNULL(lg.hits, 0) AS total FROM counters c ",
                logged_per_counter!("-1", "''"),
                " ORDER BY total DESC, c.key LIMIT ?1"
            ))
            .map_err(|e| e.to_string())?;
        let mut rows = stmt.query([limit]).map_err(|e| e.to_string())?;
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            let key: String = row.get(0).map_err(|e| e.to_string())?;
            let total: i64 = row.get(1).map_err(|e| e.to_string())?;
            f(&key, count(total)).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Every counter with its per-day rows, by key then day, for
    /// `export --history`: `f(key, total, day)` once per day row, or once
    /// with `None` for a counter without any. Hits the log holds are
    /// added, and a day's visitors are `None` as in [`Store::history`].
    pub fn each_with_days(
        &self,
        mut f: impl FnMut(&str, u64, Option<DayRow>) -> std::io::Result<()>,
    ) -> std::result::Result<(), String> {
        let mut stmt = self
            .conn
            .prepare(concat!(
                "SELECT c.key, c.count + IFNULL(lg.hits, 0), x.day, x.hits, x.all_uniques, x.old_row, x.logged_uniques
                 FROM counters c ",
                logged_per_counter!("-1", "''"),
                " LEFT JOIN (SELECT counter_id, day, SUM(hits) AS hits, SUM(IFNULL(uniques, 0)) AS all_uniques,
                          MAX(logged = 0 AND uniques IS NULL) AS old_row,
                          SUM(CASE WHEN logged = 1 THEN uniques ELSE 0 END) AS logged_uniques
                   FROM (SELECT counter_id, day, hits, uniques, 0 AS logged FROM daily
                         UNION ALL SELECT counter_id, day, hits, uniques, 1 FROM hit_log)
                   GROUP BY counter_id, day) x ON x.counter_id = c.id
                 ORDER BY c.key, x.day"
            ))
            .map_err(|e| e.to_string())?;
        let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
        while let Some(r) = rows.next().map_err(|e| e.to_string())? {
            let key = r.get_ref(0).and_then(|v| Ok(v.as_str()?)).map_err(|e| e.to_string())?;
            let total: i64 = r.get(1).map_err(|e| e.to_string())?;
            let day: Option<String> = r.get(2).map_err(|e| e.to_string())?;
            let day = match day {
                None => None,
                Some(text) => {
                    let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                        .map_err(|_| format!("{key}: a day row with the date {text:?}"))?;
                    let (hits, all, old_row, logged): (i64, i64, i64, i64) = (
                        r.get(3).map_err(|e| e.to_string())?,
                        r.get(4).map_err(|e| e.to_string())?,
                        r.get(5).map_err(|e| e.to_string())?,
                        r.get(6).map_err(|e| e.to_string())?,
                    );
                    // A row from before visitors were counted, and nothing since.
                    let uniques = if old_row == 1 && logged == 0 { None } else { Some(count(all)) };
                    Some(DayRow { day: date, hits: count(hits), uniques })
                }
            };
            f(key, count(total), day).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Views summed per domain (text before the first `/`), biggest first.
    /// Fetches `limit` domains; the caller filters out local hosts.
    pub fn top_domains(&self, limit: usize) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT substr(c.key, 1, instr(c.key || '/', '/') - 1) AS domain,
                    SUM(c.count + IFNULL(lg.hits, 0)) AS total FROM counters c ",
            logged_per_counter!("-1", "''"),
            " GROUP BY domain ORDER BY total DESC, domain LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit as i64], |r| Ok((r.get(0)?, count(r.get::<_, i64>(1)?))))?;
        rows.collect()
    }

    /// Up to `limit` counters with an id above `after`, in id order, with
    /// their hits on `day` and their visitors:
    /// `f(id, key, total, hits on day, visitors)`. For loading every counter
    /// into memory a chunk at a time.
    pub fn counters_after(
        &self,
        after: i64,
        day: NaiveDate,
        limit: usize,
        mut f: impl FnMut(i64, &str, u64, u64, u64),
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(concat!(
            "SELECT c.id, c.key, c.count + IFNULL(lg.hits, 0), IFNULL(d.hits, 0) + IFNULL(lg.on_day, 0),
                    c.uniques + IFNULL(lg.uniques, 0)
             FROM counters c LEFT JOIN daily d ON d.day = ?2 AND d.counter_id = c.id ",
            logged_per_counter!("?1", "?2"),
            " WHERE c.id > ?1 ORDER BY c.id LIMIT ?3"
        ))?;
        let mut rows = stmt.query(params![after, day_text(day), limit as i64])?;
        while let Some(r) = rows.next()? {
            let (total, hits, visitors): (i64, i64, i64) = (r.get(2)?, r.get(3)?, r.get(4)?);
            f(r.get(0)?, r.get_ref(1)?.as_str().unwrap_or_default(), count(total), count(hits), count(visitors));
        }
        Ok(())
    }
}
