//! A compact in-memory copy of every stored counter's counts, so that a
//! request for a counter nobody touched lately needs no database read.
//!
//! Keys are not stored: a slot holds a 64-bit hash of the key, 16 more bits
//! of a second hash as a check, the counter's row id, the total and the hits
//! on the newest day seen (28 bytes a counter, ~32 MB for a million at the
//! load factor used). A count too big for its field is left to the database
//! (`Known::Unknown`): such counters are rare, and a busy one is answered
//! from its entry anyway. The row id lets a flush update the row directly
//! instead of looking the key up in its index: with a million counters that
//! lookup reads a random index page per hit, most of a flush's cost.
//! Both hashes use per-process random keys, so nobody can aim a URL at an
//! existing counter's slot. Two stored keys sharing the 64-bit hash mark
//! their slot ambiguous, and a key whose slot is ambiguous or was changed by
//! an admin command is answered from the database instead (`Known::Unknown`).
//!
//! The flusher fills the table in chunks after start (`load_chunk`), keeps
//! it current with the totals each flush reads back from the database, and
//! empties it to load again when another process wrote to the database.

use chrono::NaiveDate;
use std::hash::{BuildHasher, RandomState};

/// Slots per stored counter when sized for a load; growth past `MAX_LOAD`.
/// Kept full, as the table is most of the server's memory: a lookup of a
/// stored key probes a few adjacent slots, and only a key not stored (a
/// new URL) probes a longer run, read in order.
const SLACK_NUM: usize = 9;
const SLACK_DEN: usize = 8;
const MAX_LOAD_PERCENT: usize = 92;
const MIN_SLOTS: usize = 1024;
/// Past this many counters (~130 MB of table) the table is dropped and
/// requests read SQLite, as they would without it: memory stays bounded on
/// a small VPS whatever the database holds.
pub const MAX_COUNTERS: usize = 4_000_000;

/// `Slot::check` values that are not a hash: the counts of the key must be
/// read from the database, until a flush reads them back (`UNKNOWN`, after
/// an admin change) or for good (`AMBIGUOUS`: two stored keys, one slot).
const UNKNOWN: u16 = 0;
const AMBIGUOUS: u16 = 1;

// Packed to 4-byte alignment: 28 bytes instead of 32, 5 MB less for a
// million counters. Fields are only ever copied, never borrowed.
#[derive(Clone, Copy, Default)]
#[repr(C, packed(4))]
struct Slot {
    /// Hash of the key; 0 = empty slot.
    h: u64,
    /// `u32::MAX`: too big to hold, ask the database.
    total: u32,
    day_hits: u32,
    /// Unique visitors; `u32::MAX`: too many to hold, ask the database.
    visitors: u32,
    /// Row id in `counters`; 0 = not known (or too big for 32 bits).
    id: u32,
    /// Days since 1970-01-01, plus one; 0 = no day known.
    day: u16,
    /// Second hash (2 or more), or `UNKNOWN` / `AMBIGUOUS`.
    check: u16,
}

/// What the table knows of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Stored total and hits on the newest day seen.
    Counts { total: u64, day: Option<(NaiveDate, u64)>, visitors: u64 },
    /// The table holds every stored counter and not this one: it has none.
    Absent,
    /// Ask the database.
    Unknown,
}

/// Loading state: which stored counters the table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// Not used (write-through mode, or more than `MAX_COUNTERS`).
    Off,
    /// Counters with an id above this are still to be loaded.
    After(i64),
    /// Every stored counter is in the table.
    Complete,
}

pub struct Table {
    slots: Vec<Slot>,
    used: usize,
    pub load: Load,
    /// The newest admin event reflected in every slot (see `Entry::seen_event`).
    pub event: i64,
    hashes: (RandomState, RandomState),
}

impl Table {
    pub fn new(enabled: bool, event: i64) -> Table {
        Table {
            slots: Vec::new(),
            used: 0,
            load: if enabled { Load::After(0) } else { Load::Off },
            event,
            hashes: (RandomState::new(), RandomState::new()),
        }
    }

    /// Counters held.
    pub fn len(&self) -> usize {
        self.used
    }

    pub fn get(&self, key: &str) -> Known {
        self.lookup(key).1
    }

    /// What `get` tells, and the key's row id when the table holds it for
    /// certain (only a hint for the flush, which checks it against the key),
    /// in one lookup.
    pub fn lookup(&self, key: &str) -> (Option<i64>, Known) {
        if self.load == Load::Off {
            return (None, Known::Unknown);
        }
        let (h, check) = self.hash(key);
        match self.find(h) {
            Some(i) => {
                let s = self.slots[i];
                if s.check != check {
                    return (None, Known::Unknown);
                }
                let id = (s.id != 0).then_some(i64::from(s.id));
                if s.total == u32::MAX || s.day_hits == u32::MAX || s.visitors == u32::MAX {
                    return (id, Known::Unknown);
                }
                let day = day_from(s.day).map(|d| (d, u64::from(s.day_hits)));
                (id, Known::Counts { total: u64::from(s.total), day, visitors: u64::from(s.visitors) })
            }
            None if self.load == Load::Complete => (None, Known::Absent),
            None => (None, Known::Unknown),
        }
    }

    /// Records a key's row id and stored counts.
    pub fn put(&mut self, key: &str, id: i64, total: u64, day: Option<(NaiveDate, u64)>, visitors: u64) {
        self.reserve(1);
        if self.load == Load::Off {
            return;
        }
        let (h, check) = self.hash(key);
        let i = self.slot_for(h);
        let s = &mut self.slots[i];
        let ambiguous = s.h == h && s.check != check && s.check != UNKNOWN;
        if s.h == 0 {
            self.used += 1;
        }
        let (day, day_hits) = match day.and_then(|(d, n)| Some((day_to(d)?, n))) {
            Some((d, n)) => (d, u32::try_from(n).unwrap_or(u32::MAX)),
            None => (0, 0),
        };
        let id = u32::try_from(id).unwrap_or(0);
        let visitors = u32::try_from(visitors).unwrap_or(u32::MAX);
        let total = u32::try_from(total).unwrap_or(u32::MAX);
        *s = Slot { h, total, day_hits, visitors, id, day, check: if ambiguous { AMBIGUOUS } else { check } };
    }

    /// From now on `key` is answered from the database (an admin command
    /// changed it), until a flush puts its counts back. Also covers any key
    /// sharing its slot. A key the table does not hold gets a slot too:
    /// "absent" would be wrong once an admin created the counter.
    pub fn forget(&mut self, key: &str) {
        self.reserve(1);
        if self.load == Load::Off {
            return;
        }
        let (h, _) = self.hash(key);
        let i = self.slot_for(h);
        if self.slots[i].h == 0 {
            self.used += 1;
            self.slots[i].h = h;
        }
        self.slots[i].check = UNKNOWN;
    }

    /// Empties the table and starts loading again.
    pub fn reset(&mut self) {
        if self.load != Load::Off {
            *self = Table { load: Load::After(0), event: self.event, ..Table::new(true, 0) };
        }
    }

    /// Makes room for `more` counters (sized once from the row count when
    /// loading starts, so a big table is not grown step by step).
    pub fn reserve(&mut self, more: usize) {
        if self.load == Load::Off {
            return;
        }
        let need = self.used.saturating_add(more);
        if need > MAX_COUNTERS {
            *self = Table { event: self.event, ..Table::new(false, 0) };
            return;
        }
        if need * 100 <= self.slots.len() * MAX_LOAD_PERCENT {
            return;
        }
        let len = (need * SLACK_NUM / SLACK_DEN).max(self.slots.len() * 3 / 2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![Slot::default(); len]);
        for s in old.into_iter().filter(|s| s.h != 0) {
            let i = self.slot_for(s.h);
            self.slots[i] = s;
        }
    }

    fn hash(&self, key: &str) -> (u64, u16) {
        let h = self.hashes.0.hash_one(key).max(1);
        let check = (self.hashes.1.hash_one(key) as u16).max(2);
        (h, check)
    }

    /// Index of the slot holding `h`, if any.
    fn find(&self, h: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let i = self.slot_for(h);
        (self.slots[i].h == h).then_some(i)
    }

    /// Index of the slot holding `h`, or of the empty slot where it goes
    /// (linear probing; the table always has empty slots).
    fn slot_for(&self, h: u64) -> usize {
        let n = self.slots.len();
        let mut i = ((u128::from(h) * n as u128) >> 64) as usize;
        loop {
            let s = self.slots[i].h;
            if s == h || s == 0 {
                return i;
            }
            i = if i + 1 == n { 0 } else { i + 1 };
        }
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

fn day_to(d: NaiveDate) -> Option<u16> {
    u16::try_from((d - epoch()).num_days() + 1).ok().filter(|&n| n > 0)
}

fn day_from(n: u16) -> Option<NaiveDate> {
    (n > 0).then(|| epoch() + chrono::Days::new(u64::from(n) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn absent_only_means_zero_once_loading_is_complete() {
        let mut t = Table::new(true, 0);
        assert_eq!(t.get("a"), Known::Unknown);
        t.put("a", 1, 5, Some((d("2026-11-25"), 2)), 0);
        t.put("c", 2, 9, None, 4);
        assert_eq!(t.get("c"), Known::Counts { total: 9, day: None, visitors: 4 });
        assert_eq!(t.get("a"), Known::Counts { total: 5, day: Some((d("2026-11-25"), 2)), visitors: 0 });
        assert_eq!(t.get("b"), Known::Unknown);
        t.load = Load::Complete;
        assert_eq!(t.get("b"), Known::Absent);
    }

    #[test]
    fn thousands_of_keys_survive_growth() {
        let mut t = Table::new(true, 0);
        t.load = Load::Complete;
        for i in 0..20_000u64 {
            t.put(&format!("k{i}"), 1, i, None, 0);
        }
        for i in 0..20_000u64 {
            assert_eq!(t.get(&format!("k{i}")), Known::Counts { total: i, day: None, visitors: 0 });
        }
        assert_eq!(t.get("k20000"), Known::Absent);
        assert!(t.slots.len() * MAX_LOAD_PERCENT >= t.used * 100);
    }

    #[test]
    fn forgotten_and_colliding_keys_go_to_the_database() {
        let mut t = Table::new(true, 0);
        t.load = Load::Complete;
        t.put("a", 1, 1, None, 0);
        t.forget("a");
        assert_eq!(t.get("a"), Known::Unknown);
        assert_eq!(t.get("created-by-an-admin"), Known::Absent);
        t.forget("created-by-an-admin");
        assert_eq!(t.get("created-by-an-admin"), Known::Unknown);
        t.put("a", 1, 2, None, 0);
        assert_eq!(t.get("a"), Known::Counts { total: 2, day: None, visitors: 0 });
        // Force a 64-bit collision with a different check.
        let (h, check) = t.hash("a");
        let i = t.find(h).unwrap();
        t.slots[i].check = check.wrapping_add(1).max(2);
        t.put("a", 1, 3, None, 0);
        assert_eq!(t.get("a"), Known::Unknown, "an ambiguous slot stays ambiguous");
    }

    #[test]
    fn row_ids_are_given_only_when_certain() {
        let mut t = Table::new(true, 0);
        t.put("a", 7, 1, None, 0);
        t.put("big", i64::from(u32::MAX) + 1, 1, None, 0);
        t.put("none", 0, 1, None, 0);
        assert_eq!(
            (t.lookup("a").0, t.lookup("big").0, t.lookup("none").0, t.lookup("b").0),
            (Some(7), None, None, None)
        );
        t.forget("a");
        assert_eq!(t.lookup("a"), (None, Known::Unknown));
        t.put("a", 8, 2, None, 0);
        assert_eq!(t.lookup("a"), (Some(8), Known::Counts { total: 2, day: None, visitors: 0 }));
        let (h, check) = t.hash("a");
        let i = t.find(h).unwrap();
        t.slots[i].check = check.wrapping_add(1).max(2);
        t.put("a", 8, 3, None, 0);
        assert_eq!(t.lookup("a"), (None, Known::Unknown), "ambiguous");
        assert_eq!(std::mem::size_of::<Slot>(), 28);
    }

    #[test]
    fn off_knows_nothing_and_reset_reloads() {
        let mut t = Table::new(false, 0);
        t.put("a", 1, 1, None, 0);
        t.forget("b");
        assert_eq!((t.get("a"), t.slots.len()), (Known::Unknown, 0));
        let mut t = Table::new(true, 7);
        t.put("a", 1, 1, None, 0);
        t.load = Load::Complete;
        t.reset();
        assert_eq!((t.get("a"), t.load, t.event), (Known::Unknown, Load::After(0), 7));
    }

    #[test]
    fn too_many_counters_turn_the_table_off() {
        let mut t = Table::new(true, 3);
        t.put("a", 1, 1, None, 0);
        t.reserve(MAX_COUNTERS);
        assert_eq!((t.load, t.get("a"), t.len(), t.slots.len(), t.event), (Load::Off, Known::Unknown, 0, 0, 3));
        t.put("b", 1, 1, None, 0);
        assert_eq!(t.get("b"), Known::Unknown);
    }

    #[test]
    fn huge_day_counts_are_left_to_the_database() {
        let mut t = Table::new(true, 0);
        t.put("a", 1, u64::MAX, Some((d("2026-11-25"), u64::from(u32::MAX) + 1)), 0);
        assert_eq!(t.get("a"), Known::Unknown);
        t.put("v", 1, 5, None, u64::from(u32::MAX));
        assert_eq!(t.get("v"), Known::Unknown, "too many visitors to hold");
        t.put("t", 1, u64::from(u32::MAX), None, 0);
        assert_eq!(t.get("t"), Known::Unknown, "too big a total to hold");
        t.put("t", 1, u64::from(u32::MAX) - 1, None, 0);
        assert_eq!(t.get("t"), Known::Counts { total: u64::from(u32::MAX) - 1, day: None, visitors: 0 });
        assert_eq!(day_from(day_to(d("2149-01-01")).unwrap()), Some(d("2149-01-01")));
        assert_eq!(day_to(d("2200-01-01")), None);
    }
}
