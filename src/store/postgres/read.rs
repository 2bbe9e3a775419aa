//! Reads: the rows are the whole truth here (no hit log to add).

use chrono::NaiveDate;
use postgres::fallible_iterator::FallibleIterator;

use super::super::{count, DayRow, Result, Stored};
use super::Pg;

impl Pg {
    pub fn counts(&self, key: &str, day: NaiveDate) -> Result<Stored> {
        let row = self.with(|c| {
            c.query_one(
                "SELECT c.count, (SELECT hits FROM daily WHERE day = $2 AND counter_id = c.id), c.uniques,
                        (SELECT COALESCE(MAX(id), 0)::bigint FROM admin_events)
                 FROM (SELECT 1) one LEFT JOIN counters c ON c.key = $1",
                &[&key, &day],
            )
        })?;
        Ok(Stored {
            total: count(row.get::<_, Option<i64>>(0).unwrap_or(0)),
            today: count(row.get::<_, Option<i64>>(1).unwrap_or(0)),
            visitors: count(row.get::<_, Option<i64>>(2).unwrap_or(0)),
            event: row.get(3),
        })
    }

    /// Where `changes` stands (see `Store::change_mark`).
    pub fn change_mark(&self) -> Result<Option<i64>> {
        Ok(Some(self.with(|c| c.query_one("SELECT n FROM changes WHERE id = 1", &[]))?.get(0)))
    }

    /// See `Store::changed_since`. Exact because a flush stamps its rows
    /// with the `changes.n` it set while holding that row until it commits
    /// (`write.rs`): in the caller's snapshot, no row stamped at most `n`
    /// can still be coming.
    pub fn changed_since(
        &self,
        mark: i64,
        day: NaiveDate,
        mut f: impl FnMut(i64, &str, u64, u64, u64),
    ) -> Result<Option<i64>> {
        let Some(now) = self.change_mark()? else { return Ok(None) };
        let rows = self.with(|c| {
            c.query(
                "SELECT c.id, c.key, c.count, COALESCE(d.hits, 0), c.uniques
                 FROM counters c LEFT JOIN daily d ON d.day = $2 AND d.counter_id = c.id
                 WHERE c.version > $1 AND c.version <= $3",
                &[&mark, &day, &now],
            )
        })?;
        for r in rows {
            f(r.get(0), r.get(1), count(r.get(2)), count(r.get(3)), count(r.get(4)));
        }
        Ok(Some(now))
    }

    pub fn get(&self, key: &str) -> Result<Option<u64>> {
        let row = self.with(|c| c.query_opt("SELECT count FROM counters WHERE key = $1", &[&key]))?;
        Ok(row.map(|r| count(r.get(0))))
    }

    pub fn history(&self, key: &str, days: &[NaiveDate]) -> Result<Vec<(NaiveDate, u64, Option<u64>)>> {
        let rows = self.with(|c| {
            c.query(
                "SELECT d.day, d.hits, d.uniques FROM counters c JOIN daily d ON d.counter_id = c.id
                 WHERE c.key = $1 AND d.day = ANY($2) ORDER BY d.day",
                &[&key, &days],
            )
        })?;
        let found: std::collections::HashMap<NaiveDate, (i64, Option<i64>)> =
            rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect();
        Ok(days
            .iter()
            .filter_map(|d| found.get(d).map(|(hits, uniques)| (*d, count(*hits), uniques.map(count))))
            .collect())
    }

    pub fn counter_rows(&self) -> Result<u64> {
        Ok(count(self.with(|c| c.query_one("SELECT COUNT(*) FROM counters", &[]))?.get(0)))
    }

    /// Streams the rows (`query_raw`): an export of millions of counters
    /// never holds them all.
    pub fn each_by_count(
        &self,
        limit: Option<u64>,
        mut f: impl FnMut(&str, u64) -> std::io::Result<()>,
    ) -> std::result::Result<(), String> {
        let limit = limit.map(|l| l.min(i64::MAX as u64) as i64);
        let mut failed = None;
        self.with(|c| {
            let mut rows = c.query_raw(
                // Keys in byte order, as SQLite sorts them.
                "SELECT key, count FROM counters ORDER BY count DESC, key COLLATE \"C\" LIMIT $1",
                [&limit as &(dyn postgres::types::ToSql + Sync)],
            )?;
            while let Some(r) = rows.next()? {
                if let Err(e) = f(r.get(0), count(r.get(1))) {
                    failed = Some(e.to_string());
                    break;
                }
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        failed.map_or(Ok(()), Err)
    }

    /// Streams like [`Pg::each_by_count`], by key in byte order (as SQLite
    /// sorts), then day.
    pub fn each_with_days(
        &self,
        mut f: impl FnMut(&str, u64, Option<DayRow>) -> std::io::Result<()>,
    ) -> std::result::Result<(), String> {
        let mut failed = None;
        self.with(|c| {
            let mut rows = c.query_raw(
                "SELECT c.key, c.count, d.day, d.hits, d.uniques FROM counters c
                 LEFT JOIN daily d ON d.counter_id = c.id ORDER BY c.key COLLATE \"C\", d.day",
                std::iter::empty::<&(dyn postgres::types::ToSql + Sync)>(),
            )?;
            while let Some(r) = rows.next()? {
                let day = r.get::<_, Option<NaiveDate>>(2).map(|day| DayRow {
                    day,
                    hits: count(r.get::<_, Option<i64>>(3).unwrap_or(0)),
                    uniques: r.get::<_, Option<i64>>(4).map(count),
                });
                if let Err(e) = f(r.get(0), count(r.get(1)), day) {
                    failed = Some(e.to_string());
                    break;
                }
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        failed.map_or(Ok(()), Err)
    }

    pub fn top_domains(&self, limit: usize) -> Result<Vec<(String, u64)>> {
        let rows = self.with(|c| {
            c.query(
                // The collation on the column: ORDER BY takes an output
                // column's name only bare, not inside an expression.
                "SELECT split_part(key, '/', 1) COLLATE \"C\" AS domain, SUM(count)::bigint AS total FROM counters
                 GROUP BY domain ORDER BY total DESC, domain LIMIT $1",
                &[&(limit as i64)],
            )
        })?;
        Ok(rows.iter().map(|r| (r.get(0), count(r.get(1)))).collect())
    }

    pub fn counters_after(
        &self,
        after: i64,
        day: NaiveDate,
        limit: usize,
        mut f: impl FnMut(i64, &str, u64, u64, u64),
    ) -> Result<()> {
        let rows = self.with(|c| {
            c.query(
                "SELECT c.id, c.key, c.count, COALESCE(d.hits, 0), c.uniques
                 FROM counters c LEFT JOIN daily d ON d.day = $2 AND d.counter_id = c.id
                 WHERE c.id > $1 ORDER BY c.id LIMIT $3",
                &[&after, &day, &(limit as i64)],
            )
        })?;
        for r in rows {
            f(r.get(0), r.get(1), count(r.get(2)), count(r.get(3)), count(r.get(4)));
        }
        Ok(())
    }
}
