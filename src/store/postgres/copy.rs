//! PostgreSQL's side of `hitcounter copy` (see `super::super::copy`): the
//! rows in one snapshot out, and in through batched `unnest` inserts
//! inside one transaction.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::super::copy::{push_row, Copied};
use super::super::{now, sql, Result};
use super::Pg;

/// Counters written per statement: bounded arrays, few round trips.
const CHUNK: usize = 10_000;

impl Pg {
    pub fn dump(&self) -> Result<Vec<Copied>> {
        let rows = self.with(|c| {
            c.query(
                "SELECT c.key, c.count, c.uniques, c.created_at, d.day, d.hits, d.uniques
                 FROM counters c LEFT JOIN daily d ON d.counter_id = c.id ORDER BY c.id, d.day",
                &[],
            )
        })?;
        let mut out = Vec::new();
        for r in rows {
            let day: Option<NaiveDate> = r.get(4);
            let day = day.map(|d| (d, r.get::<_, Option<i64>>(5).unwrap_or(0), r.get(6)));
            push_row(&mut out, (r.get(0), r.get(1), r.get(2), r.get(3)), day);
        }
        Ok(out)
    }

    pub fn load(&mut self, rows: &[Copied], written: &mut dyn FnMut(u64)) -> Result<()> {
        let t = now();
        self.with(|c| {
            let mut tx = c.transaction()?;
            tx.batch_execute("LOCK TABLE admin_events IN EXCLUSIVE MODE")?;
            for chunk in rows.chunks(CHUNK) {
                let keys: Vec<&str> = chunk.iter().map(|r| r.key.as_str()).collect();
                let counts: Vec<i64> = chunk.iter().map(|r| sql(r.count)).collect();
                let uniques: Vec<i64> = chunk.iter().map(|r| sql(r.uniques)).collect();
                let created: Vec<i64> = chunk.iter().map(|r| r.created_at).collect();
                let ids: HashMap<String, i64> = tx
                    .query(
                        "INSERT INTO counters (key, count, uniques, created_at, updated_at)
                         SELECT k, n, u, c, $5 FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])
                            AS t(k, n, u, c)
                         RETURNING key, id",
                        &[&keys, &counts, &uniques, &created, &t],
                    )?
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
                let (mut days, mut counter_ids, mut hits, mut day_uniques) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for r in chunk {
                    for (day, h, u) in &r.days {
                        days.push(*day);
                        counter_ids.push(ids.get(&r.key).copied().unwrap_or(0));
                        hits.push(sql(*h));
                        day_uniques.push(u.map(sql));
                    }
                }
                tx.execute(
                    "INSERT INTO daily (day, counter_id, hits, uniques)
                     SELECT * FROM unnest($1::date[], $2::bigint[], $3::bigint[], $4::bigint[])",
                    &[&days, &counter_ids, &hits, &day_uniques],
                )?;
                written(chunk.len() as u64);
            }
            tx.execute("INSERT INTO admin_events (key, at) VALUES (NULL, $1)", &[&t])?;
            tx.commit()
        })
    }
}
