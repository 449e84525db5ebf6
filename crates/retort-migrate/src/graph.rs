//! The revision graph: which revision follows which, its heads and bases, and the plans that
//! take a database from the revisions it has to a target.
//!
//! ```
//! use retort_migrate::{Ops, Revision, RevisionGraph};
//!
//! fn nothing(_: &mut Ops) {}
//! let rev = |id, down_revisions| Revision {
//!     id,
//!     down_revisions,
//!     message: "",
//!     upgrade: nothing,
//!     downgrade: nothing,
//! };
//! let graph = RevisionGraph::new(vec![
//!     rev("aaa111", &[]),
//!     rev("bbb222", &["aaa111"]),
//!     rev("ccc333", &["bbb222"]),
//! ])?;
//! assert_eq!(graph.heads(), ["ccc333"]);
//! let plan = graph.upgrade_plan(&["aaa111".to_string()], "head")?;
//! assert_eq!(plan.iter().map(|r| r.id).collect::<Vec<_>>(), ["bbb222", "ccc333"]);
//! let undo = graph.downgrade_plan(&["ccc333".to_string()], "-2")?;
//! assert_eq!(undo.iter().map(|r| r.id).collect::<Vec<_>>(), ["ccc333", "bbb222"]);
//! # Ok::<(), retort_core::Error>(())
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};

use retort_core::{Error, Result};

use crate::revision::Revision;

/// The revisions of a migrations folder, checked and indexed.
#[derive(Debug, Clone)]
pub struct RevisionGraph {
    revisions: Vec<Revision>,
    index: HashMap<&'static str, usize>,
    children: HashMap<&'static str, Vec<&'static str>>,
}

/// What a target names, once resolved against the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// No revision applied.
    Base,
    /// These revisions (and their ancestors) applied.
    Revisions(Vec<&'static str>),
}

impl RevisionGraph {
    /// Checks the revisions and indexes them: an error names each duplicate id, each
    /// parent that does not exist, and the revisions of a cycle.
    pub fn new(revisions: Vec<Revision>) -> Result<Self> {
        let mut index = HashMap::new();
        for (i, rev) in revisions.iter().enumerate() {
            if rev.id.is_empty() {
                return Err(Error::Argument(format!(
                    "a revision ('{}') has an empty id",
                    rev.message
                )));
            }
            if index.insert(rev.id, i).is_some() {
                return Err(Error::Argument(format!(
                    "revision id {} is used by more than one revision",
                    rev.id
                )));
            }
        }
        let mut children: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        for rev in &revisions {
            for &parent in rev.down_revisions {
                if !index.contains_key(parent) {
                    return Err(Error::Argument(format!(
                        "revision {} follows revision {parent}, which does not exist",
                        rev.id
                    )));
                }
                children.entry(parent).or_default().push(rev.id);
            }
        }
        for list in children.values_mut() {
            list.sort_unstable();
        }
        let graph = RevisionGraph {
            revisions,
            index,
            children,
        };
        graph.check_acyclic()?;
        Ok(graph)
    }

    /// Depth-first search with colours; a grey parent reached again closes a cycle.
    fn check_acyclic(&self) -> Result<()> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            White,
            Grey,
            Black,
        }
        let mut marks = vec![Mark::White; self.revisions.len()];
        for start in 0..self.revisions.len() {
            if marks[start] != Mark::White {
                continue;
            }
            // The path from `start`, each entry with the index of its next parent to visit.
            let mut path: Vec<(usize, usize)> = vec![(start, 0)];
            marks[start] = Mark::Grey;
            while let Some((node, next)) = path.last_mut() {
                let parents = self.revisions[*node].down_revisions;
                if *next == parents.len() {
                    marks[*node] = Mark::Black;
                    path.pop();
                    continue;
                }
                let parent = self.index[parents[*next]];
                *next += 1;
                match marks[parent] {
                    Mark::White => {
                        marks[parent] = Mark::Grey;
                        path.push((parent, 0));
                    }
                    Mark::Grey => {
                        let from = path.iter().position(|&(n, _)| n == parent).unwrap_or(0);
                        let cycle: Vec<&str> = path[from..]
                            .iter()
                            .map(|&(n, _)| self.revisions[n].id)
                            .chain([self.revisions[parent].id])
                            .collect();
                        return Err(Error::Argument(format!(
                            "the revisions form a cycle: {}",
                            cycle.join(" -> ")
                        )));
                    }
                    Mark::Black => {}
                }
            }
        }
        Ok(())
    }

    /// The revisions, in the order given.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// The revision `id` (a full id).
    pub fn get(&self, id: &str) -> Option<&Revision> {
        self.index.get(id).map(|&i| &self.revisions[i])
    }

    /// The revision `id`, or an error saying it does not exist.
    pub fn require(&self, id: &str) -> Result<&Revision> {
        self.get(id)
            .ok_or_else(|| Error::Argument(format!("no revision '{id}' in the migrations folder")))
    }

    /// The revisions that follow `id` directly, sorted.
    pub fn children(&self, id: &str) -> &[&'static str] {
        self.children.get(id).map_or(&[], Vec::as_slice)
    }

    /// The revisions no other follows, sorted.
    pub fn heads(&self) -> Vec<&'static str> {
        self.sorted_ids(|r| self.children(r.id).is_empty())
    }

    /// The revisions that follow none, sorted.
    pub fn bases(&self) -> Vec<&'static str> {
        self.sorted_ids(|r| r.down_revisions.is_empty())
    }

    /// The revisions two or more others follow (where the history branches), sorted.
    pub fn branch_points(&self) -> Vec<&'static str> {
        self.sorted_ids(|r| self.children(r.id).len() > 1)
    }

    fn sorted_ids(&self, keep: impl Fn(&Revision) -> bool) -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = self
            .revisions
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// `ids` and every revision before them.
    pub fn ancestors<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> HashSet<&'static str> {
        let mut seen = HashSet::new();
        let mut stack: Vec<&'static str> = ids
            .into_iter()
            .filter_map(|id| self.get(id).map(|r| r.id))
            .collect();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                if let Some(rev) = self.get(id) {
                    stack.extend(rev.down_revisions.iter().copied());
                }
            }
        }
        seen
    }

    /// `id` and every revision after it.
    pub fn descendants(&self, id: &str) -> HashSet<&'static str> {
        let mut seen = HashSet::new();
        let mut stack: Vec<&'static str> = self.get(id).map(|r| r.id).into_iter().collect();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                stack.extend(self.children(id).iter().copied());
            }
        }
        seen
    }

    /// Every revision, newest first: each after all the revisions that follow it (what
    /// `history` prints).
    pub fn history(&self) -> Vec<&Revision> {
        let ids: Vec<&str> = self.heads();
        let mut order = self.parents_first(&ids);
        order.reverse();
        order
    }

    /// `targets` and their ancestors, each after its parents; branches one after another.
    fn parents_first(&self, targets: &[&str]) -> Vec<&Revision> {
        let mut done: HashSet<&str> = HashSet::new();
        let mut order = Vec::new();
        for &target in targets {
            let Some(rev) = self.get(target) else {
                continue;
            };
            let mut stack: Vec<(&Revision, usize)> = vec![(rev, 0)];
            while let Some((rev, next)) = stack.last_mut() {
                if done.contains(rev.id) {
                    stack.pop();
                    continue;
                }
                if let Some(&parent) = rev.down_revisions.get(*next) {
                    *next += 1;
                    if let Some(parent) = self.get(parent) {
                        stack.push((parent, 0));
                    }
                    continue;
                }
                let rev: &Revision = rev;
                done.insert(rev.id);
                order.push(rev);
                stack.pop();
            }
        }
        order
    }

    /// Checks that the database's applied heads are revisions of the folder.
    pub fn check_current(&self, current: &[String]) -> Result<()> {
        for id in current {
            if self.get(id).is_none() {
                return Err(Error::InvalidRequest(format!(
                    "the database is at revision {id}, which the migrations folder does not \
                     have (a revision file missing, or another branch of the code?)"
                )));
            }
        }
        Ok(())
    }

    /// A full id from a full id or a unique prefix of one.
    pub fn resolve_id(&self, given: &str) -> Result<&'static str> {
        if let Some(rev) = self.get(given) {
            return Ok(rev.id);
        }
        let matches: BTreeSet<&'static str> = self
            .revisions
            .iter()
            .map(|r| r.id)
            .filter(|id| id.starts_with(given))
            .collect();
        let mut matches = matches.into_iter();
        match (matches.next(), matches.len()) {
            (Some(id), 0) if !given.is_empty() => Ok(id),
            (None, _) => Err(Error::Argument(format!(
                "no revision '{given}' in the migrations folder"
            ))),
            (Some(first), _) => Err(Error::Argument(format!(
                "revision prefix '{given}' is ambiguous: it matches {}",
                [first]
                    .into_iter()
                    .chain(matches)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// What `target` names, with `current` the heads the database has: `head` (the single
    /// head), `heads`, `base`, a full id or unique prefix, or `+N` / `-N` steps from the
    /// current revision.
    pub fn resolve(&self, target: &str, current: &[String]) -> Result<Target> {
        self.check_current(current)?;
        match target {
            "base" => Ok(Target::Base),
            "heads" => Ok(Target::Revisions(self.heads())),
            "head" => match self.heads().as_slice() {
                [] => Ok(Target::Base),
                [one] => Ok(Target::Revisions(vec![one])),
                many => Err(Error::Argument(format!(
                    "there are several heads ({}); name one, give 'heads' for all, or merge them",
                    many.join(", ")
                ))),
            },
            _ => {
                if let Some(steps) = target.strip_prefix('+') {
                    self.relative(current, parse_steps(target, steps)?, true)
                } else if let Some(steps) = target.strip_prefix('-') {
                    self.relative(current, parse_steps(target, steps)?, false)
                } else {
                    Ok(Target::Revisions(vec![self.resolve_id(target)?]))
                }
            }
        }
    }

    /// `steps` revisions up (`up`) or down from the one current revision.
    fn relative(&self, current: &[String], steps: usize, up: bool) -> Result<Target> {
        let sign = if up { '+' } else { '-' };
        let mut at: Option<&'static str> = match current {
            [] => None,
            [one] => Some(self.require(one)?.id),
            many => {
                return Err(Error::Argument(format!(
                    "'{sign}{steps}' is ambiguous: the database has several heads ({}); name a \
                     revision",
                    many.join(", ")
                )))
            }
        };
        for _ in 0..steps {
            let next: Vec<&'static str> = if up {
                match at {
                    None => self.bases(),
                    Some(id) => self.children(id).to_vec(),
                }
            } else {
                match at {
                    None => {
                        return Err(Error::Argument(format!("'{sign}{steps}' goes below base")))
                    }
                    Some(id) => self.require(id)?.down_revisions.to_vec(),
                }
            };
            at = match next.as_slice() {
                [] if up => {
                    return Err(Error::Argument(format!(
                        "'{sign}{steps}' goes past the head {}",
                        at.unwrap_or("base")
                    )))
                }
                [] => None,
                [one] => Some(one),
                many => {
                    return Err(Error::Argument(format!(
                        "'{sign}{steps}' is ambiguous at {}: it leads to {}; name a revision",
                        at.unwrap_or("base"),
                        many.join(", ")
                    )))
                }
            };
        }
        Ok(match at {
            None => Target::Base,
            Some(id) => Target::Revisions(vec![id]),
        })
    }

    /// The revisions to apply, parents first, to go from `current` (the applied heads) to
    /// `target`; only what is not applied yet.
    pub fn upgrade_plan(&self, current: &[String], target: &str) -> Result<Vec<&Revision>> {
        let targets = match self.resolve(target, current)? {
            Target::Base => return Ok(Vec::new()),
            Target::Revisions(ids) => ids,
        };
        let applied = self.ancestors(current.iter().map(String::as_str));
        Ok(self
            .parents_first(&targets)
            .into_iter()
            .filter(|r| !applied.contains(r.id))
            .collect())
    }

    /// The revisions to undo, children first, to go from `current` down to `target`: every
    /// applied revision after the target (only on the target's own branches).
    pub fn downgrade_plan(&self, current: &[String], target: &str) -> Result<Vec<&Revision>> {
        let applied = self.ancestors(current.iter().map(String::as_str));
        let undo: HashSet<&'static str> = match self.resolve(target, current)? {
            Target::Base => applied.clone(),
            Target::Revisions(ids) => {
                let mut undo = HashSet::new();
                for id in ids {
                    if !applied.contains(id) {
                        return Err(Error::Argument(format!(
                            "revision {id} is not applied, so it is no downgrade target (the \
                             database is at {})",
                            describe(current)
                        )));
                    }
                    undo.extend(self.descendants(id).into_iter().filter(|d| *d != id));
                }
                undo
            }
        };
        let heads: Vec<&str> = current.iter().map(String::as_str).collect();
        let mut order: Vec<&Revision> = self
            .parents_first(&heads)
            .into_iter()
            .filter(|r| undo.contains(r.id) && applied.contains(r.id))
            .collect();
        order.reverse();
        Ok(order)
    }
}

fn parse_steps(target: &str, steps: &str) -> Result<usize> {
    steps.parse().map_err(|_| {
        Error::Argument(format!(
            "'{target}' is not a revision target (expected head, heads, base, a revision id, \
             +N or -N)"
        ))
    })
}

/// The applied heads as a message names them.
pub(crate) fn describe(current: &[String]) -> String {
    if current.is_empty() {
        "base".into()
    } else {
        current.join(", ")
    }
}
