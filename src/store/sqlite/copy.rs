//! SQLite's side of `hitcounter copy` (see `store/copy.rs`): every row
//! read in one statement, and written in one transaction.

use chrono::NaiveDate;
use rusqlite::{params, Result, TransactionBehavior};

use super::super::copy::{push_row, Copied};
use super::{day_text, now, sql, Sqlite};

impl Sqlite {
    pub(super) fn dump(&self) -> Result<Vec<Copied>> {
        // Reads add the hit log everywhere else; the copy's source was
        // prepared (its log folded) before, so the rows are complete.
        let mut stmt = self.conn.prepare(
            "SELECT c.key, c.count, c.uniques, c.created_at, d.day, d.hits, d.uniques
             FROM counters c LEFT JOIN daily d ON d.counter_id = c.id ORDER BY c.id, d.day",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let day: Option<String> = r.get(4)?;
            let day = match day {
                Some(text) => Some((
                    text.parse::<NaiveDate>().map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
                    })?,
                    r.get(5)?,
                    r.get(6)?,
                )),
                None => None,
            };
            push_row(&mut out, (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?), day);
        }
        Ok(out)
    }

    pub(super) fn load(&mut self, rows: &[Copied], written: &mut dyn FnMut(u64)) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let t = now();
            let mut counter = tx.prepare(
                "INSERT INTO counters (key, count, uniques, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 RETURNING id",
            )?;
            let mut daily = tx.prepare("INSERT INTO daily (day, counter_id, hits, uniques) VALUES (?1, ?2, ?3, ?4)")?;
            for c in rows {
                let id: i64 =
                    counter.query_row(params![c.key, sql(c.count), sql(c.uniques), c.created_at, t], |r| r.get(0))?;
                for (day, hits, uniques) in &c.days {
                    daily.execute(params![day_text(*day), id, sql(*hits), uniques.map(sql)])?;
                }
                written(1);
            }
            tx.prepare("INSERT INTO admin_events (key, at) VALUES (NULL, ?1)")?.execute([t])?;
        }
        tx.commit()
    }
}
