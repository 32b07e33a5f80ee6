//! The transaction dependency graph: strongly connected components, and in each the shortest
//! cycles of each kind Elle names, found by breadth-first search restricted to the component.

use super::report::{Anomaly, Ctx};
use super::{Key, Rel};
use std::collections::BTreeSet;

/// One dependency: `from` must come before `to`, because of `rel` on `key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Edge {
    pub from: u32,
    pub to: u32,
    pub rel: Rel,
    pub key: Option<Key>,
}

/// Edge relaxations one search of one cycle kind in one component may spend before giving up
/// (then `cycle-search-timeout` says so): searches stay linear-ish on huge components.
const SEARCH_STEPS_MAX: u64 = 20_000_000;

/// Adjacency in compressed rows: the out-edges of `v` are `edges[offsets[v]..offsets[v + 1]]`.
pub(crate) struct Graph {
    offsets: Vec<u32>,
    edges: Vec<Edge>,
}

impl Graph {
    /// The graph of `n` vertices and `edges` (sorted and deduplicated here; self-edges
    /// dropped: a transaction depending on itself is no cycle).
    pub fn new(n: usize, edges: &mut Vec<Edge>) -> Graph {
        edges.retain(|e| e.from != e.to);
        edges.sort_unstable_by_key(|e| (e.from, e.to, e.rel));
        edges.dedup_by_key(|e| (e.from, e.to, e.rel));
        let mut offsets = vec![0u32; n + 1];
        for e in edges.iter() {
            offsets[e.from as usize + 1] += 1;
        }
        for v in 0..n {
            offsets[v + 1] += offsets[v];
        }
        Graph { offsets, edges: std::mem::take(edges) }
    }

    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }

    fn vertices(&self) -> usize {
        self.offsets.len() - 1
    }

    fn out(&self, v: u32) -> &[Edge] {
        &self.edges[self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize]
    }

    /// The first strongly connected component of two or more vertices, if any.
    pub fn first_component(&self) -> Option<Vec<u32>> {
        self.components().0.into_iter().next()
    }

    /// Strongly connected components of two or more vertices (Tarjan's, iteratively), each
    /// sorted, in order of their smallest vertex; `component[v]` is v's (u32::MAX: none).
    fn components(&self) -> (Vec<Vec<u32>>, Vec<u32>) {
        let n = self.vertices();
        const NONE: u32 = u32::MAX;
        let (mut index, mut low) = (vec![NONE; n], vec![0u32; n]);
        let mut on_stack = vec![false; n];
        let (mut stack, mut calls): (Vec<u32>, Vec<(u32, u32)>) = (Vec::new(), Vec::new());
        let mut next = 0u32;
        let mut sccs = Vec::new();
        for root in 0..n as u32 {
            if index[root as usize] != NONE {
                continue;
            }
            calls.push((root, self.offsets[root as usize]));
            index[root as usize] = next;
            low[root as usize] = next;
            next += 1;
            stack.push(root);
            on_stack[root as usize] = true;
            while let Some(&mut (v, ref mut at)) = calls.last_mut() {
                if *at < self.offsets[v as usize + 1] {
                    let w = self.edges[*at as usize].to;
                    *at += 1;
                    if index[w as usize] == NONE {
                        index[w as usize] = next;
                        low[w as usize] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w as usize] = true;
                        calls.push((w, self.offsets[w as usize]));
                    } else if on_stack[w as usize] {
                        low[v as usize] = low[v as usize].min(index[w as usize]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(parent, _)) = calls.last() {
                    low[parent as usize] = low[parent as usize].min(low[v as usize]);
                }
                if low[v as usize] == index[v as usize] {
                    let mut scc = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        scc.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if scc.len() > 1 {
                        scc.sort_unstable();
                        sccs.push(scc);
                    }
                }
            }
        }
        sccs.sort_unstable_by_key(|s| s[0]);
        let mut component = vec![NONE; n];
        for (id, scc) in sccs.iter().enumerate() {
            for &v in scc {
                component[v as usize] = id as u32;
            }
        }
        (sccs, component)
    }
}

/// How many `rw` edges a cycle kind wants, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RwRule {
    /// None (G0, G1c).
    Never,
    /// Exactly one (G-single).
    Single,
    /// Two or more, never two in a row, the last and first edge included (G-nonadjacent).
    NonAdjacent,
    /// Two or more (G2).
    Several,
    /// Any cycle at all (the fallback when no named search found one).
    Any,
}

/// One kind of cycle to look for.
#[derive(Clone, Copy, Debug)]
struct Spec {
    /// The anomaly's name without a process/realtime suffix.
    base: &'static str,
    /// The edges the cycle may use.
    allowed: u8,
    /// The kind of the edge each search starts from (`None`: any).
    seed: Option<Rel>,
    /// An edge kind the cycle must contain (besides the seed).
    required: Option<Rel>,
    rw: RwRule,
}

const BASE_SPECS: &[(&str, Option<Rel>, RwRule)] = &[
    ("G0", Some(Rel::Ww), RwRule::Never),
    ("G1c", Some(Rel::Wr), RwRule::Never),
    ("G-single-item", Some(Rel::Rw), RwRule::Single),
    ("G-nonadjacent-item", Some(Rel::Rw), RwRule::NonAdjacent),
    ("G2-item", Some(Rel::Rw), RwRule::Several),
];

fn data_rels(rw: RwRule) -> u8 {
    let ww_wr = Rel::Ww.bit() | Rel::Wr.bit();
    match rw {
        RwRule::Never => ww_wr,
        _ => ww_wr | Rel::Rw.bit(),
    }
}

/// The searches to run, in Elle's order of severity: the plain kinds, then their variants with
/// the order edge (`process` or `realtime`), each only if its anomaly is one to report.
fn specs(reportable: &BTreeSet<String>, order: Option<Rel>) -> Vec<Spec> {
    let mut specs = Vec::new();
    for &(base, seed, rw) in BASE_SPECS {
        if base == "G0" {
            // G0 uses ww edges only.
            if reportable.contains(base) {
                specs.push(Spec { base, allowed: Rel::Ww.bit(), seed, required: None, rw });
            }
            continue;
        }
        if reportable.contains(base) {
            specs.push(Spec { base, allowed: data_rels(rw), seed, required: None, rw });
        }
    }
    if let Some(order) = order {
        let suffix = suffix(order);
        for &(base, seed, rw) in BASE_SPECS {
            if !reportable.contains(&format!("{base}{suffix}")) {
                continue;
            }
            let data = if base == "G0" { Rel::Ww.bit() } else { data_rels(rw) };
            let allowed = data | order.bit();
            specs.push(Spec { base, allowed, seed, required: Some(order), rw });
        }
    }
    specs
}

fn suffix(order: Rel) -> &'static str {
    match order {
        Rel::Realtime => "-realtime",
        Rel::Process => "-process",
        _ => "",
    }
}

/// Elle's name of a cycle, from the kinds of its edges.
pub(crate) fn classify(rels: &[Rel]) -> String {
    let count = |r: Rel| rels.iter().filter(|x| **x == r).count();
    let rw = count(Rel::Rw);
    let adjacent =
        (0..rels.len()).any(|i| rels[i] == Rel::Rw && rels[(i + 1) % rels.len()] == Rel::Rw);
    let data = if rw == 1 {
        "G-single-item"
    } else if rw > 1 {
        if adjacent {
            "G2-item"
        } else {
            "G-nonadjacent-item"
        }
    } else if count(Rel::Wr) > 0 {
        "G1c"
    } else {
        "G0"
    };
    let suffix = if count(Rel::Realtime) > 0 {
        "-realtime"
    } else if count(Rel::Process) > 0 {
        "-process"
    } else {
        ""
    };
    format!("{data}{suffix}")
}

/// Search state per vertex: rw edges so far (0, 1, 2+), whether the last edge was rw, whether
/// the required edge kind was seen.
const STATES: usize = 12;

fn state(rw: u8, last_rw: bool, seen: bool) -> usize {
    rw as usize * 4 + (last_rw as usize) * 2 + seen as usize
}

/// Scratch space for breadth-first searches over (vertex, state), reused across searches.
struct Searcher {
    stamp: Vec<u32>,
    parent: Vec<(u32, u32)>,
    generation: u32,
    queue: Vec<u32>,
    steps: u64,
}

impl Searcher {
    fn new(n: usize) -> Searcher {
        Searcher {
            stamp: vec![0; n * STATES],
            parent: vec![(0, 0); n * STATES],
            generation: 0,
            queue: Vec::new(),
            steps: 0,
        }
    }

    /// The shortest cycle of kind `spec` inside component `scc`, as edge indices, or `None`;
    /// `Err(())` if the search ran out of steps first.
    fn find(
        &mut self,
        graph: &Graph,
        component: &[u32],
        scc_id: u32,
        scc: &[u32],
        spec: &Spec,
    ) -> Result<Option<Vec<u32>>, ()> {
        let mut best: Option<Vec<u32>> = None;
        self.steps = 0;
        for &a in scc {
            let start = graph.offsets[a as usize];
            for (i, e0) in graph.out(a).iter().enumerate() {
                if component[e0.to as usize] != scc_id
                    || spec.allowed & e0.rel.bit() == 0
                    || spec.seed.is_some_and(|s| s != e0.rel)
                {
                    continue;
                }
                let limit = best.as_ref().map_or(usize::MAX, |b| b.len() - 1);
                if let Some(path) =
                    self.bfs(graph, component, scc_id, spec, start + i as u32, limit)?
                {
                    best = Some(path);
                    if best.as_ref().is_some_and(|b| b.len() <= 2) {
                        return Ok(best);
                    }
                }
            }
        }
        Ok(best)
    }

    /// The shortest cycle starting with edge `e0` and closing back at its tail, of at most
    /// `limit` edges, as edge indices.
    fn bfs(
        &mut self,
        graph: &Graph,
        component: &[u32],
        scc_id: u32,
        spec: &Spec,
        e0: u32,
        limit: usize,
    ) -> Result<Option<Vec<u32>>, ()> {
        let first = graph.edges[e0 as usize];
        let (target, first_rw) = (first.from, first.rel == Rel::Rw);
        let seen0 = spec.required.is_none_or(|r| r == first.rel);
        let s0 = state(first_rw as u8, first_rw, seen0);
        self.generation += 1;
        let generation = self.generation;
        self.queue.clear();
        let start = first.to as usize * STATES + s0;
        self.stamp[start] = generation;
        self.parent[start] = (u32::MAX, e0);
        self.queue.push(start as u32);
        let (mut head, mut depth) = (0, 1);
        while head < self.queue.len() && depth < limit {
            let level_end = self.queue.len();
            while head < level_end {
                let at = self.queue[head] as usize;
                head += 1;
                let (v, s) = ((at / STATES) as u32, at % STATES);
                let (rw, last_rw, seen) = ((s / 4) as u8, s & 2 != 0, s & 1 != 0);
                let base = graph.offsets[v as usize];
                for (i, e) in graph.out(v).iter().enumerate() {
                    self.steps += 1;
                    if self.steps > SEARCH_STEPS_MAX {
                        return Err(());
                    }
                    if spec.allowed & e.rel.bit() == 0 || component[e.to as usize] != scc_id {
                        continue;
                    }
                    let is_rw = e.rel == Rel::Rw;
                    let rw2 = match (spec.rw, is_rw) {
                        (_, false) => rw,
                        (RwRule::Never, true) => continue,
                        (RwRule::Single, true) if rw >= 1 => continue,
                        (RwRule::NonAdjacent, true) if last_rw => continue,
                        (_, true) => (rw + 1).min(2),
                    };
                    let seen2 = seen || spec.required == Some(e.rel);
                    let s2 = state(rw2, is_rw, seen2);
                    let edge = base + i as u32;
                    if e.to == target {
                        let closes = seen2
                            && match spec.rw {
                                RwRule::Never | RwRule::Any => true,
                                RwRule::Single => rw2 == 1,
                                RwRule::NonAdjacent => rw2 >= 2 && !(is_rw && first_rw),
                                RwRule::Several => rw2 >= 2,
                            };
                        if closes {
                            let path = self.path(at, edge);
                            if simple(graph, &path) {
                                return Ok(Some(path));
                            }
                        }
                        continue;
                    }
                    let next = e.to as usize * STATES + s2;
                    if self.stamp[next] != generation {
                        self.stamp[next] = generation;
                        self.parent[next] = (at as u32, edge);
                        self.queue.push(next as u32);
                    }
                }
            }
            depth += 1;
        }
        Ok(None)
    }

    /// The edges from the start to `at`, then `last`.
    fn path(&self, mut at: usize, last: u32) -> Vec<u32> {
        let mut path = vec![last];
        loop {
            let (prev, edge) = self.parent[at];
            path.push(edge);
            if prev == u32::MAX {
                break;
            }
            at = prev as usize;
        }
        path.reverse();
        path
    }
}

/// True if no vertex repeats along the cycle.
fn simple(graph: &Graph, path: &[u32]) -> bool {
    let mut seen = BTreeSet::new();
    path.iter().all(|&e| seen.insert(graph.edges[e as usize].from))
}

/// Every cycle anomaly of `graph` worth reporting: in each strongly connected component, the
/// shortest cycle of each kind searched for, then (if none of those showed) any shortest cycle.
pub(crate) fn cycles(
    graph: &Graph,
    ctx: &Ctx<'_>,
    reportable: &BTreeSet<String>,
    order: Option<Rel>,
) -> Vec<Anomaly> {
    let (sccs, component) = graph.components();
    if sccs.is_empty() {
        return Vec::new();
    }
    let specs = specs(reportable, order);
    let mut searcher = Searcher::new(graph.vertices());
    let mut found = Vec::new();
    for (id, scc) in sccs.iter().enumerate() {
        let mut names: BTreeSet<String> = BTreeSet::new();
        let mut timed_out = Vec::new();
        for spec in &specs {
            match searcher.find(graph, &component, id as u32, scc, spec) {
                Ok(Some(path)) => {
                    let cycle: Vec<Edge> = path.iter().map(|&e| graph.edges[e as usize]).collect();
                    let rels: Vec<Rel> = cycle.iter().map(|e| e.rel).collect();
                    let name = classify(&rels);
                    if reportable.contains(&name) && names.insert(name.clone()) {
                        found.push(Anomaly::cycle(name, &cycle, ctx));
                    }
                }
                Ok(None) => {}
                Err(()) => timed_out.push(spec.base),
            }
        }
        if names.is_empty() {
            let any =
                Spec { base: "cycle", allowed: 0xff, seed: None, required: None, rw: RwRule::Any };
            if let Ok(Some(path)) = searcher.find(graph, &component, id as u32, scc, &any) {
                let cycle: Vec<Edge> = path.iter().map(|&e| graph.edges[e as usize]).collect();
                let rels: Vec<Rel> = cycle.iter().map(|e| e.rel).collect();
                let name = classify(&rels);
                if reportable.contains(&name) {
                    found.push(Anomaly::cycle(name, &cycle, ctx));
                }
            }
        }
        if !timed_out.is_empty() {
            found.push(Anomaly::note(
                "cycle-search-timeout",
                &format!(
                    "gave up looking for {} cycles in a component of {} transactions after {} \
                     steps each",
                    timed_out.join(", "),
                    scc.len(),
                    SEARCH_STEPS_MAX
                ),
            ));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use Rel::*;

    #[test]
    fn classifies_as_elle() {
        assert_eq!(classify(&[Ww, Ww]), "G0");
        assert_eq!(classify(&[Ww, Wr]), "G1c");
        assert_eq!(classify(&[Ww, Rw]), "G-single-item");
        assert_eq!(classify(&[Rw, Wr, Rw, Wr]), "G-nonadjacent-item");
        assert_eq!(classify(&[Rw, Rw]), "G2-item");
        assert_eq!(classify(&[Rw, Wr, Wr, Rw]), "G2-item", "the last and first edge are adjacent");
        assert_eq!(classify(&[Ww, Realtime]), "G0-realtime");
        assert_eq!(classify(&[Wr, Process]), "G1c-process");
        assert_eq!(classify(&[Rw, Realtime, Process]), "G-single-item-realtime");
    }

    fn graph(n: usize, edges: &[(u32, u32, Rel)]) -> Graph {
        let mut edges: Vec<Edge> =
            edges.iter().map(|&(from, to, rel)| Edge { from, to, rel, key: Some(0) }).collect();
        Graph::new(n, &mut edges)
    }

    #[test]
    fn components_are_found() {
        let g = graph(5, &[(0, 1, Ww), (1, 0, Wr), (1, 2, Ww), (2, 3, Rw), (3, 4, Ww), (4, 2, Ww)]);
        assert_eq!(g.components().0, vec![vec![0, 1], vec![2, 3, 4]]);
        let g = graph(3, &[(0, 1, Ww), (1, 2, Ww)]);
        assert!(g.components().0.is_empty());
    }

    #[test]
    fn searches_find_the_kind_asked_for() {
        // 0 -ww-> 1 -rw-> 0 (G-single) and 0 -ww-> 2 -ww-> 0 (G0), one component.
        let g = graph(3, &[(0, 1, Ww), (1, 0, Rw), (0, 2, Ww), (2, 0, Ww)]);
        let (sccs, component) = g.components();
        let mut s = Searcher::new(3);
        let names = ["G0", "G1c", "G-single-item", "G-nonadjacent-item", "G2-item"];
        let reportable: BTreeSet<String> = names.iter().map(|s| s.to_string()).collect();
        let found: Vec<_> = specs(&reportable, None)
            .iter()
            .map(|spec| {
                s.find(&g, &component, 0, &sccs[0], spec).unwrap().map(|p| {
                    classify(&p.iter().map(|&e| g.edges[e as usize].rel).collect::<Vec<_>>())
                })
            })
            .collect();
        let g0 = Some("G0".to_string());
        let single = Some("G-single-item".to_string());
        assert_eq!(found, vec![g0, None, single, None, None]);
    }
}
