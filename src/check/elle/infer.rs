//! Dependencies and the anomalies that need no cycle, inferred from the values transactions
//! wrote and read: list-append (a version order from the longest read of each key) and
//! rw-register (a version order from nil and the options' assumptions).

use super::graph::{Edge, Graph};
use super::history::{realtime_order, Outcome, Txn};
use super::report::{list_text, Anomaly, Ctx};
use super::{Key, Mop, Options, ReadValue, Rel};
use std::collections::{BTreeMap, BTreeSet};

/// What inference found: the dependency edges and the anomalies seen on the way.
pub(crate) struct Inferred {
    pub edges: Vec<Edge>,
    pub anomalies: Vec<Anomaly>,
}

fn edge(from: u32, to: u32, rel: Rel, key: Key) -> Edge {
    Edge { from, to, rel, key: Some(key) }
}

/// What a list-append transaction's own earlier operations say a read of a key must show:
/// the list it last read (if any), then what it appended since.
#[derive(Clone, Debug, Default)]
struct Expect<'h> {
    read: Option<&'h [i64]>,
    appended: Vec<i64>,
}

impl Expect<'_> {
    fn admits(&self, list: &[i64]) -> bool {
        match self.read {
            Some(base) => {
                list.len() == base.len() + self.appended.len()
                    && list.starts_with(base)
                    && list.ends_with(&self.appended)
            }
            None => list.ends_with(&self.appended),
        }
    }

    fn show(&self) -> String {
        let appended = list_text(&self.appended);
        match self.read {
            Some(base) => {
                let mut all = base.to_vec();
                all.extend_from_slice(&self.appended);
                list_text(&all)
            }
            None => format!("[... {}]", appended.trim_matches(['[', ']'])),
        }
    }
}

/// One read of a committed transaction.
struct ListRead<'h> {
    txn: u32,
    list: &'h [i64],
    /// The transaction's first access to the key, before any append of its own.
    external: bool,
}

/// Internal consistency and future reads of one committed list-append transaction.
fn list_internal<'h>(ctx: &Ctx<'h>, id: u32, out: &mut Vec<Anomaly>) {
    let mops: &'h [Mop] = ctx.txns[id as usize].mops;
    let mut state: BTreeMap<Key, Expect<'h>> = BTreeMap::new();
    let mut reads: BTreeMap<Key, Vec<&'h [i64]>> = BTreeMap::new();
    for mop in mops {
        match mop {
            Mop::Append { key, value } => {
                let earlier = reads.get(key).map_or(&[][..], Vec::as_slice);
                if earlier.iter().any(|list| list.contains(value)) {
                    let detail = format!(
                        "index {} read {} = {value} before appending it itself: {}",
                        ctx.txns[id as usize].index,
                        ctx.key_name(*key),
                        ctx.mops_text(mops)
                    );
                    out.push(Anomaly::about("future-read", ctx, &[id], Some(*key), detail));
                }
                state.entry(*key).or_default().appended.push(*value);
            }
            Mop::Read { key, value: Some(ReadValue::List(list)) } => {
                if let Some(expect) = state.get(key) {
                    if !expect.admits(list) {
                        let detail = format!(
                            "index {} read {} but its own earlier operations imply {}: {}",
                            ctx.txns[id as usize].index,
                            ctx.mop_text(mop),
                            expect.show(),
                            ctx.mops_text(mops)
                        );
                        out.push(Anomaly::about("internal", ctx, &[id], Some(*key), detail));
                    }
                }
                reads.entry(*key).or_default().push(list);
                state.insert(*key, Expect { read: Some(list), appended: Vec::new() });
            }
            _ => {}
        }
    }
}

/// Transactions that read the same version of a key and then both wrote it: `groups` maps
/// (key, version read) to them.
fn lost_updates<V: std::fmt::Debug>(
    ctx: &Ctx<'_>,
    groups: BTreeMap<(Key, V), Vec<u32>>,
    show: impl Fn(&V) -> String,
    out: &mut Vec<Anomaly>,
) {
    for ((key, value), ids) in groups {
        if ids.len() >= 2 {
            let detail = format!(
                "{} transactions read {} = {} and then wrote {}: one update is lost",
                ids.len(),
                ctx.key_name(key),
                show(&value),
                ctx.key_name(key)
            );
            out.push(Anomaly::about("lost-update", ctx, &ids, Some(key), detail));
        }
    }
}

/// List-append inference.
pub(crate) fn list_append(ctx: &Ctx<'_>) -> Inferred {
    let txns = ctx.txns;
    let mut out = Vec::new();
    let mut writer: BTreeMap<(Key, i64), u32> = BTreeMap::new();
    let mut intermediate: BTreeSet<(Key, i64)> = BTreeSet::new();
    let mut reads: BTreeMap<Key, Vec<ListRead<'_>>> = BTreeMap::new();
    // (key, length read, last element read) -> the transactions that read it, then appended.
    let mut lost: BTreeMap<(Key, usize, Option<i64>), Vec<u32>> = BTreeMap::new();
    let mut lost_lists: BTreeMap<(Key, usize, Option<i64>), &[i64]> = BTreeMap::new();
    for (id, txn) in txns.iter().enumerate() {
        let id = id as u32;
        let mut last: BTreeMap<Key, i64> = BTreeMap::new();
        for mop in txn.mops {
            if let Mop::Append { key, value } = mop {
                writer.entry((*key, *value)).or_insert(id);
                if let Some(previous) = last.insert(*key, *value) {
                    intermediate.insert((*key, previous));
                }
            }
        }
        if txn.outcome != Outcome::Ok {
            continue;
        }
        list_internal(ctx, id, &mut out);
        let mut appended: BTreeSet<Key> = BTreeSet::new();
        let mut first_read: BTreeMap<Key, &[i64]> = BTreeMap::new();
        for mop in txn.mops {
            match mop {
                Mop::Append { key, .. } if appended.insert(*key) => {
                    if let Some(seen) = first_read.get(key) {
                        let group = (*key, seen.len(), seen.last().copied());
                        lost.entry(group).or_default().push(id);
                        lost_lists.entry(group).or_insert(seen);
                    }
                }
                Mop::Read { key, value: Some(ReadValue::List(list)) } => {
                    let external = !appended.contains(key) && !first_read.contains_key(key);
                    if !appended.contains(key) {
                        first_read.entry(*key).or_insert(list);
                    }
                    reads.entry(*key).or_default().push(ListRead { txn: id, list, external });
                }
                _ => {}
            }
        }
    }
    let lost = lost.into_iter().map(|(group, ids)| ((group.0, lost_lists[&group]), ids)).collect();
    lost_updates(ctx, lost, |l: &&[i64]| list_text(l), &mut out);
    let mut edges = Vec::new();
    for (&key, key_reads) in &reads {
        list_key(ctx, key, key_reads, &writer, &intermediate, &mut edges, &mut out);
    }
    Inferred { edges, anomalies: out }
}

/// The first position of `list` at which an element repeats, has no writer, or has a failed
/// writer (`list.len()` where none does): reads that are prefixes of one list share them.
struct Faults {
    duplicate: usize,
    garbage: usize,
    aborted: usize,
}

fn faults(key: Key, list: &[i64], writer: &BTreeMap<(Key, i64), u32>, txns: &[Txn<'_>]) -> Faults {
    let mut seen = BTreeSet::new();
    let n = list.len();
    let mut faults = Faults { duplicate: n, garbage: n, aborted: n };
    for (i, v) in list.iter().enumerate() {
        if faults.duplicate == n && !seen.insert(*v) {
            faults.duplicate = i;
        }
        match writer.get(&(key, *v)) {
            None if faults.garbage == n => faults.garbage = i,
            Some(&w) if faults.aborted == n && txns[w as usize].outcome == Outcome::Fail => {
                faults.aborted = i
            }
            _ => {}
        }
    }
    faults
}

/// The anomalies and dependencies of one list-append key.
fn list_key(
    ctx: &Ctx<'_>,
    key: Key,
    reads: &[ListRead<'_>],
    writer: &BTreeMap<(Key, i64), u32>,
    intermediate: &BTreeSet<(Key, i64)>,
    edges: &mut Vec<Edge>,
    out: &mut Vec<Anomaly>,
) {
    let txns = ctx.txns;
    let name = ctx.key_name(key);
    let index_of = |id: u32| txns[id as usize].index;
    // The version order: the longest read (the first of the longest, for determinism).
    let longest =
        reads.iter().fold(&[][..], |best, r| if r.list.len() > best.len() { r.list } else { best });
    let longest_faults = faults(key, longest, writer, txns);
    let mut incompatible = false;
    for read in reads {
        let (id, list) = (read.txn, read.list);
        let prefix = longest.starts_with(list);
        let f = if prefix {
            Faults {
                duplicate: longest_faults.duplicate,
                garbage: longest_faults.garbage,
                aborted: longest_faults.aborted,
            }
        } else {
            faults(key, list, writer, txns)
        };
        if f.duplicate < list.len() {
            let v = list[f.duplicate];
            let detail =
                format!("index {} read {name} = {} with {v} twice", index_of(id), list_text(list));
            out.push(Anomaly::about("duplicate-elements", ctx, &[id], Some(key), detail));
        }
        if f.garbage < list.len() {
            let v = list[f.garbage];
            let detail = format!(
                "index {} read {name} = {}, but nobody appended {v}",
                index_of(id),
                list_text(list)
            );
            out.push(Anomaly::about("garbage-read", ctx, &[id], Some(key), detail));
        }
        if f.aborted < list.len() {
            let v = list[f.aborted];
            let w = writer[&(key, v)];
            let detail = format!(
                "index {} read {name} = {}, with {v} appended by index {}, which failed",
                index_of(id),
                list_text(list),
                index_of(w)
            );
            out.push(Anomaly::about("G1a", ctx, &[id, w], Some(key), detail));
        }
        if let Some(v) = list.last() {
            if let Some(&w) = writer.get(&(key, *v)) {
                if w != id && intermediate.contains(&(key, *v)) {
                    let detail = format!(
                        "index {} read {name} = {}, ending at {v}, which index {} appended before \
                         appending more to {name}",
                        index_of(id),
                        list_text(list),
                        index_of(w)
                    );
                    out.push(Anomaly::about("G1b", ctx, &[id, w], Some(key), detail));
                }
            }
        }
        if !prefix {
            if !incompatible {
                incompatible = true;
                let detail = format!(
                    "reads of {name} = {} and {} are not prefixes of one order of appends",
                    list_text(list),
                    list_text(longest)
                );
                out.push(Anomaly::about("incompatible-order", ctx, &[id], Some(key), detail));
            }
            continue;
        }
        if !read.external {
            continue;
        }
        // wr: the writer of the last element read; rw: the writer of the next one.
        if let Some(last) = list.last() {
            if let Some(&w) = writer.get(&(key, *last)) {
                if txns[w as usize].possible() {
                    edges.push(edge(w, id, Rel::Wr, key));
                }
            }
        }
        if let Some(next) = longest.get(list.len()) {
            if let Some(&w) = writer.get(&(key, *next)) {
                if txns[w as usize].possible() {
                    edges.push(edge(id, w, Rel::Rw, key));
                }
            }
        }
    }
    // ww along the version order; dirty updates: a failed append followed by committed ones.
    let mut failed_run: Vec<u32> = Vec::new();
    let mut previous: Option<u32> = None;
    for v in longest {
        let Some(&w) = writer.get(&(key, *v)) else { continue };
        if txns[w as usize].outcome == Outcome::Fail {
            if !failed_run.contains(&w) {
                failed_run.push(w);
            }
            continue;
        }
        if !failed_run.is_empty() {
            let mut ids = std::mem::take(&mut failed_run);
            ids.push(w);
            let failed: Vec<String> =
                ids[..ids.len() - 1].iter().map(|&t| index_of(t).to_string()).collect();
            let detail = format!(
                "{name} = {}: index {} appended {v} after the appends of failed transaction(s) {}",
                list_text(longest),
                index_of(w),
                failed.join(", ")
            );
            out.push(Anomaly::about("dirty-update", ctx, &ids, Some(key), detail));
        }
        if let Some(p) = previous {
            edges.push(edge(p, w, Rel::Ww, key));
        }
        previous = Some(w);
    }
}

/// One rw-register transaction's external view of each key: the version it first read (before
/// writing), and the version it wrote last.
#[derive(Default)]
struct Ext {
    reads: BTreeMap<Key, Option<i64>>,
    writes: BTreeMap<Key, i64>,
}

impl Ext {
    /// The first version it saw or made of `key`, and the last: what order inference links.
    fn span(&self, key: Key) -> Option<(Option<i64>, Option<i64>)> {
        let read = self.reads.get(&key).copied();
        let write = self.writes.get(&key).copied();
        match (read, write) {
            (Some(r), Some(w)) => Some((r, Some(w))),
            (Some(r), None) => Some((r, r)),
            (None, Some(w)) => Some((Some(w), Some(w))),
            (None, None) => None,
        }
    }
}

/// Internal consistency, future reads, and the external view of one rw-register transaction.
fn register_txn(
    ctx: &Ctx<'_>,
    id: u32,
    writer: &BTreeMap<(Key, i64), u32>,
    out: &mut Vec<Anomaly>,
) -> Ext {
    let txn = &ctx.txns[id as usize];
    let ok = txn.outcome == Outcome::Ok;
    let mut ext = Ext::default();
    let mut state: BTreeMap<Key, Option<i64>> = BTreeMap::new();
    let mut written: BTreeSet<(Key, i64)> = BTreeSet::new();
    for mop in txn.mops {
        match mop {
            Mop::Write { key, value } => {
                ext.writes.insert(*key, *value);
                state.insert(*key, Some(*value));
                written.insert((*key, *value));
            }
            Mop::Read { key, value: Some(ReadValue::Register(read)) } if ok => {
                if let Some(expected) = state.get(key) {
                    if expected != read {
                        let show = |v: &Option<i64>| v.map_or("nil".to_string(), |v| v.to_string());
                        let detail = format!(
                            "index {} read {} but its own earlier operations imply {}: {}",
                            txn.index,
                            ctx.mop_text(mop),
                            show(expected),
                            ctx.mops_text(txn.mops)
                        );
                        out.push(Anomaly::about("internal", ctx, &[id], Some(*key), detail));
                    }
                } else {
                    ext.reads.insert(*key, *read);
                }
                if let Some(v) = read {
                    if writer.get(&(*key, *v)) == Some(&id) && !written.contains(&(*key, *v)) {
                        let detail = format!(
                            "index {} read {} before writing it itself: {}",
                            txn.index,
                            ctx.mop_text(mop),
                            ctx.mops_text(txn.mops)
                        );
                        out.push(Anomaly::about("future-read", ctx, &[id], Some(*key), detail));
                    }
                }
                state.insert(*key, *read);
            }
            _ => {}
        }
    }
    ext
}

/// The version graph of one key: versions as small integers (0 is nil), edges between them.
#[derive(Default)]
struct Versions {
    ids: BTreeMap<Option<i64>, u32>,
    names: Vec<Option<i64>>,
    edges: BTreeSet<(u32, u32)>,
}

impl Versions {
    fn id(&mut self, v: Option<i64>) -> u32 {
        if self.names.is_empty() {
            self.ids.insert(None, 0);
            self.names.push(None);
        }
        let next = self.names.len() as u32;
        *self.ids.entry(v).or_insert_with(|| {
            self.names.push(v);
            next
        })
    }

    /// A cycle among `edges` (as version values), if any.
    fn cycle(&self, edges: &BTreeSet<(u32, u32)>) -> Option<Vec<Option<i64>>> {
        let mut list: Vec<Edge> =
            edges.iter().map(|&(a, b)| Edge { from: a, to: b, rel: Rel::Ww, key: None }).collect();
        let graph = Graph::new(self.names.len(), &mut list);
        let scc = graph.first_component()?;
        Some(scc.iter().map(|&v| self.names[v as usize]).collect())
    }
}

/// rw-register inference.
pub(crate) fn rw_register(ctx: &Ctx<'_>, options: &Options) -> Inferred {
    let txns = ctx.txns;
    let mut out = Vec::new();
    let mut writer: BTreeMap<(Key, i64), u32> = BTreeMap::new();
    let mut intermediate: BTreeSet<(Key, i64)> = BTreeSet::new();
    for (id, txn) in txns.iter().enumerate() {
        let mut last: BTreeMap<Key, i64> = BTreeMap::new();
        for mop in txn.mops {
            if let Mop::Write { key, value } = mop {
                writer.entry((*key, *value)).or_insert(id as u32);
                if let Some(previous) = last.insert(*key, *value) {
                    intermediate.insert((*key, previous));
                }
            }
        }
    }
    let exts: Vec<Ext> = (0..txns.len() as u32)
        .map(|id| {
            if txns[id as usize].possible() {
                register_txn(ctx, id, &writer, &mut out)
            } else {
                Ext::default()
            }
        })
        .collect();
    let show = |v: &Option<i64>| v.map_or("nil".to_string(), |v| v.to_string());
    // Reads of versions that failed, were intermediate, or never existed; lost updates.
    let mut lost: BTreeMap<(Key, Option<i64>), Vec<u32>> = BTreeMap::new();
    let mut ext_writer: BTreeMap<(Key, i64), u32> = BTreeMap::new();
    let mut ext_readers: BTreeMap<(Key, Option<i64>), Vec<u32>> = BTreeMap::new();
    for (id, ext) in exts.iter().enumerate() {
        let id = id as u32;
        for (&key, &v) in &ext.writes {
            ext_writer.entry((key, v)).or_insert(id);
        }
        for (&key, &read) in &ext.reads {
            ext_readers.entry((key, read)).or_default().push(id);
            if ext.writes.contains_key(&key) {
                lost.entry((key, read)).or_default().push(id);
            }
            let Some(v) = read else { continue };
            let name = ctx.key_name(key);
            let index = txns[id as usize].index;
            match writer.get(&(key, v)) {
                None => {
                    let detail = format!("index {index} read {name} = {v}, which nobody wrote");
                    out.push(Anomaly::about("garbage-read", ctx, &[id], Some(key), detail));
                }
                Some(&w) if txns[w as usize].outcome == Outcome::Fail => {
                    let detail = format!(
                        "index {index} read {name} = {v}, written by index {}, which failed",
                        txns[w as usize].index
                    );
                    out.push(Anomaly::about("G1a", ctx, &[id, w], Some(key), detail));
                }
                Some(&w) if w != id && intermediate.contains(&(key, v)) => {
                    let detail = format!(
                        "index {index} read {name} = {v}, which index {} overwrote in the same \
                         transaction",
                        txns[w as usize].index
                    );
                    out.push(Anomaly::about("G1b", ctx, &[id, w], Some(key), detail));
                }
                Some(_) => {}
            }
        }
    }
    lost_updates(ctx, lost, show, &mut out);
    let versions = version_graphs(ctx, options, &exts, &mut out);
    let mut edges = Vec::new();
    for (id, ext) in exts.iter().enumerate() {
        for (&key, &read) in &ext.reads {
            if let Some(&w) = read.and_then(|v| ext_writer.get(&(key, v))) {
                edges.push(edge(w, id as u32, Rel::Wr, key));
            }
        }
    }
    for (&key, graph) in &versions {
        for &(a, b) in &graph.edges {
            let (a, b) = (graph.names[a as usize], graph.names[b as usize]);
            let Some(&to) = b.and_then(|b| ext_writer.get(&(key, b))) else { continue };
            if let Some(&from) = a.and_then(|a| ext_writer.get(&(key, a))) {
                edges.push(edge(from, to, Rel::Ww, key));
            }
            for &reader in ext_readers.get(&(key, a)).map_or(&[][..], Vec::as_slice) {
                edges.push(edge(reader, to, Rel::Rw, key));
            }
        }
    }
    Inferred { edges, anomalies: out }
}

/// Each key's version graph, from the sources Elle uses in its order (nil first; the database's
/// transaction order; writes follow reads; process order; real-time order), each enabled by
/// `options`. A source that would make a key's versions cyclic is left out for that key and
/// reported as `cyclic-versions`.
fn version_graphs(
    ctx: &Ctx<'_>,
    options: &Options,
    exts: &[Ext],
    out: &mut Vec<Anomaly>,
) -> BTreeMap<Key, Versions> {
    let txns = ctx.txns;
    type Source = BTreeMap<Key, Vec<(Option<i64>, Option<i64>)>>;
    let mut sources: Vec<(&str, Source)> = Vec::new();
    let mut initial: Source = BTreeMap::new();
    for ext in exts {
        for (&key, &v) in &ext.writes {
            initial.entry(key).or_default().push((None, Some(v)));
        }
        for (&key, &v) in &ext.reads {
            if v.is_some() {
                initial.entry(key).or_default().push((None, v));
            }
        }
    }
    sources.push(("initial-state", initial));
    if let Some(order) = &options.transaction_order {
        let mut by_key: BTreeMap<Key, Vec<(i64, i64)>> = BTreeMap::new();
        for (id, ext) in exts.iter().enumerate() {
            let Some(&position) = order.get(&txns[id].index) else { continue };
            for (&key, &v) in &ext.writes {
                by_key.entry(key).or_default().push((position, v));
            }
        }
        let mut source: Source = BTreeMap::new();
        for (key, mut writes) in by_key {
            writes.sort_unstable();
            let pairs = writes.windows(2).map(|w| (Some(w[0].1), Some(w[1].1))).collect();
            source.insert(key, pairs);
        }
        sources.push(("transaction-order", source));
    }
    if options.wfr_keys {
        let mut source: Source = BTreeMap::new();
        for ext in exts {
            for (&key, &read) in &ext.reads {
                if let (Some(r), Some(&w)) = (read, ext.writes.get(&key)) {
                    source.entry(key).or_default().push((Some(r), Some(w)));
                }
            }
        }
        sources.push(("wfr-keys", source));
    }
    let touching = |key_filter: &mut BTreeMap<Key, Vec<u32>>| {
        for (id, ext) in exts.iter().enumerate() {
            let keys: BTreeSet<Key> = ext.reads.keys().chain(ext.writes.keys()).copied().collect();
            for key in keys {
                key_filter.entry(key).or_default().push(id as u32);
            }
        }
    };
    let mut by_key: BTreeMap<Key, Vec<u32>> = BTreeMap::new();
    if options.sequential_keys || options.linearizable_keys {
        touching(&mut by_key);
    }
    if options.sequential_keys {
        let mut source: Source = BTreeMap::new();
        for (&key, ids) in &by_key {
            let mut last: BTreeMap<u64, Option<i64>> = BTreeMap::new();
            for &id in ids {
                let Some((first, final_)) = exts[id as usize].span(key) else { continue };
                if let Some(previous) = last.insert(txns[id as usize].process, final_) {
                    source.entry(key).or_default().push((previous, first));
                }
            }
        }
        sources.push(("sequential-keys", source));
    }
    if options.linearizable_keys {
        let mut source: Source = BTreeMap::new();
        for (&key, ids) in &by_key {
            let pairs = source.entry(key).or_default();
            realtime_order(txns, ids, |a, b| {
                if let (Some((_, final_)), Some((first, _))) =
                    (exts[a as usize].span(key), exts[b as usize].span(key))
                {
                    pairs.push((final_, first));
                }
            });
        }
        sources.push(("linearizable-keys", source));
    }
    let mut graphs: BTreeMap<Key, Versions> = BTreeMap::new();
    for (name, source) in sources {
        for (key, pairs) in source {
            let graph = graphs.entry(key).or_default();
            let mut edges = graph.edges.clone();
            for (a, b) in pairs {
                if a != b {
                    let (a, b) = (graph.id(a), graph.id(b));
                    edges.insert((a, b));
                }
            }
            match graph.cycle(&edges) {
                None => graph.edges = edges,
                Some(cycle) => {
                    let values: Vec<String> = cycle
                        .iter()
                        .map(|v| v.map_or("nil".to_string(), |v| v.to_string()))
                        .collect();
                    let detail = format!(
                        "{name} would order the versions of {} in a cycle among {{{}}}: left out for \
                         this key",
                        ctx.key_name(key),
                        values.join(", ")
                    );
                    out.push(Anomaly::about("cyclic-versions", ctx, &[], Some(key), detail));
                }
            }
        }
    }
    graphs
}
