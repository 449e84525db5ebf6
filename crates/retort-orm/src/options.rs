//! Loader options for a query: `joinedload`, `selectinload`, `lazyload`, `raiseload`,
//! `noload` and `contains_eager`, chained into nested relationships —
//! `selectinload(User::addresses).joinedload(Address::tags)`.
//!
//! An option overrides the relationship's own `lazy` for the objects the query loads. Each
//! step of a chain names a relationship of the model the previous step reached, which the
//! types check: `selectinload(User::addresses).joinedload(User::addresses)` does not compile.

use std::marker::PhantomData;

use retort_core::Result;

use crate::attr::{Rel, RelatedField};
use crate::mapper::{Mapper, Model};
use crate::relationship::{Lazy, Relationship};

/// How one relationship of a query's objects is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// On first access, one SELECT per object.
    Select,
    /// In the query's own statement, through a LEFT OUTER JOIN (INNER with `inner`).
    Joined { inner: bool },
    /// One more SELECT for all the objects, with `IN (their keys)`.
    SelectIn,
    /// Access without a load is an error.
    Raise,
    /// Never loaded; empty.
    NoLoad,
    /// From columns the query already joins (`contains_eager`).
    ContainsEager,
}

impl Strategy {
    fn of(lazy: Lazy) -> Strategy {
        match lazy {
            Lazy::Select => Strategy::Select,
            Lazy::Joined => Strategy::Joined { inner: false },
            Lazy::SelectIn => Strategy::SelectIn,
            Lazy::Raise => Strategy::Raise,
            Lazy::NoLoad => Strategy::NoLoad,
        }
    }

    /// The loader an object keeps for later access, for strategies that load nothing now.
    pub(crate) fn deferred(self) -> Option<Lazy> {
        match self {
            Strategy::Select => Some(Lazy::Select),
            Strategy::Raise => Some(Lazy::Raise),
            Strategy::NoLoad => Some(Lazy::NoLoad),
            _ => None,
        }
    }

    /// Whether it loads in the query's own statement.
    pub(crate) fn is_joined(self) -> bool {
        matches!(self, Strategy::Joined { .. } | Strategy::ContainsEager)
    }
}

/// One step of an option chain: a relationship of `owner` and how to load it.
#[derive(Clone)]
pub(crate) struct Step {
    owner: fn() -> &'static Mapper,
    index: usize,
    strategy: Strategy,
}

/// A loader option for queries of `Root`, ending at relationship target `Leaf`; chain
/// further steps from `Leaf`'s relationships.
///
/// ```no_run
/// # use retort_orm::*;
/// # fn demo<U: Model, A: Model>(session: &Session, addresses: Rel<U, Many<A>>) -> retort_core::Result<()> {
/// // One SELECT of users LEFT OUTER JOIN addresses:
/// let users = session.query::<U>().options(joinedload(addresses)).all()?;
/// # Ok(()) }
/// ```
pub struct Load<Root, Leaf> {
    steps: Vec<Step>,
    _marker: PhantomData<fn() -> (Root, Leaf)>,
}

impl<Root, Leaf> Clone for Load<Root, Leaf> {
    fn clone(&self) -> Self {
        Load {
            steps: self.steps.clone(),
            _marker: PhantomData,
        }
    }
}

fn start<M: Model, R: RelatedField>(rel: Rel<M, R>, strategy: Strategy) -> Load<M, R::Target> {
    Load {
        steps: vec![Step {
            owner: M::mapper,
            index: rel.index(),
            strategy,
        }],
        _marker: PhantomData,
    }
}

/// Loads `rel` in the query's own statement with a LEFT OUTER JOIN: one SELECT in all.
/// Parents come back once each, and a LIMIT applies to parents, not rows.
pub fn joinedload<M: Model, R: RelatedField>(rel: Rel<M, R>) -> Load<M, R::Target> {
    start(rel, Strategy::Joined { inner: false })
}

/// Loads `rel` for all the query's objects with one more SELECT (`IN (parent keys)`, in
/// chunks within the database's parameter limit).
pub fn selectinload<M: Model, R: RelatedField>(rel: Rel<M, R>) -> Load<M, R::Target> {
    start(rel, Strategy::SelectIn)
}

/// Loads `rel` on first access, one SELECT per object (the default loader).
pub fn lazyload<M: Model, R: RelatedField>(rel: Rel<M, R>) -> Load<M, R::Target> {
    start(rel, Strategy::Select)
}

/// Makes access to `rel` without an eager load an `InvalidRequest` error naming the model
/// and field, so no lazy SELECT slips through.
pub fn raiseload<M: Model, R: RelatedField>(rel: Rel<M, R>) -> Load<M, R::Target> {
    start(rel, Strategy::Raise)
}

/// Never loads `rel`: it reads as empty.
pub fn noload<M: Model, R: RelatedField>(rel: Rel<M, R>) -> Load<M, R::Target> {
    start(rel, Strategy::NoLoad)
}

/// Fills `rel` from the rows of a join the query already has
/// (`.join(User::addresses).options(contains_eager(User::addresses))`): the related table's
/// columns are added to the SELECT, and no other JOIN.
pub fn contains_eager<M: Model, R: RelatedField>(rel: Rel<M, R>) -> Load<M, R::Target> {
    start(rel, Strategy::ContainsEager)
}

impl<Root, Leaf: Model> Load<Root, Leaf> {
    fn then<R: RelatedField>(
        mut self,
        rel: Rel<Leaf, R>,
        strategy: Strategy,
    ) -> Load<Root, R::Target> {
        self.steps.push(Step {
            owner: Leaf::mapper,
            index: rel.index(),
            strategy,
        });
        Load {
            steps: self.steps,
            _marker: PhantomData,
        }
    }

    /// Then loads `rel` of the reached objects with a join ([`joinedload`]).
    pub fn joinedload<R: RelatedField>(self, rel: Rel<Leaf, R>) -> Load<Root, R::Target> {
        self.then(rel, Strategy::Joined { inner: false })
    }

    /// Then loads `rel` of the reached objects with `IN` ([`selectinload`]).
    pub fn selectinload<R: RelatedField>(self, rel: Rel<Leaf, R>) -> Load<Root, R::Target> {
        self.then(rel, Strategy::SelectIn)
    }

    /// Then loads `rel` of the reached objects on access ([`lazyload`]).
    pub fn lazyload<R: RelatedField>(self, rel: Rel<Leaf, R>) -> Load<Root, R::Target> {
        self.then(rel, Strategy::Select)
    }

    /// Then raises on access to `rel` of the reached objects ([`raiseload`]).
    pub fn raiseload<R: RelatedField>(self, rel: Rel<Leaf, R>) -> Load<Root, R::Target> {
        self.then(rel, Strategy::Raise)
    }

    /// Then never loads `rel` of the reached objects ([`noload`]).
    pub fn noload<R: RelatedField>(self, rel: Rel<Leaf, R>) -> Load<Root, R::Target> {
        self.then(rel, Strategy::NoLoad)
    }

    /// Then fills `rel` from the query's own join ([`contains_eager`]).
    pub fn contains_eager<R: RelatedField>(self, rel: Rel<Leaf, R>) -> Load<Root, R::Target> {
        self.then(rel, Strategy::ContainsEager)
    }

    /// Makes the last step's join an INNER JOIN (SQLAlchemy's `innerjoin=True`): parents
    /// without a related row are left out.
    pub fn innerjoin(mut self) -> Self {
        if let Some(step) = self.steps.last_mut() {
            if let Strategy::Joined { .. } = step.strategy {
                step.strategy = Strategy::Joined { inner: true };
            }
        }
        self
    }
}

impl<Root, Leaf> Load<Root, Leaf> {
    pub(crate) fn into_steps(self) -> Vec<Step> {
        self.steps
    }
}

/// How one relationship is loaded for a set of objects, and what is loaded below it.
#[derive(Debug, Clone)]
pub(crate) struct LoadNode {
    pub rel: &'static Relationship,
    pub strategy: Strategy,
    pub children: Vec<LoadNode>,
}

/// How deep relationships whose own `lazy` is eager are followed without an option; a
/// relationship is also never followed again below itself.
const MAX_DEFAULT_DEPTH: usize = 3;

/// The loading plan of a query of `root`: its options merged into a tree (a later option for
/// the same relationship wins), with the relationships whose own `lazy` is `joined` or
/// `selectin` added where no option names them.
pub(crate) fn plan(root: &'static Mapper, chains: &[Vec<Step>]) -> Result<Vec<LoadNode>> {
    let mut nodes = Vec::new();
    for chain in chains {
        let mut level = &mut nodes;
        for (depth, step) in chain.iter().enumerate() {
            let rel = &(step.owner)().relationships()?[step.index];
            let last = depth + 1 == chain.len();
            let at = match level
                .iter()
                .position(|n: &LoadNode| std::ptr::eq(n.rel, rel))
            {
                Some(at) => {
                    if last {
                        level[at].strategy = step.strategy;
                    }
                    at
                }
                None => {
                    level.push(LoadNode {
                        rel,
                        strategy: step.strategy,
                        children: Vec::new(),
                    });
                    level.len() - 1
                }
            };
            level = &mut level[at].children;
        }
    }
    let mut path = Vec::new();
    add_defaults(root, &mut nodes, &mut path)?;
    Ok(nodes)
}

fn add_defaults(
    mapper: &'static Mapper,
    nodes: &mut Vec<LoadNode>,
    path: &mut Vec<*const Relationship>,
) -> Result<()> {
    for rel in mapper.relationships()? {
        let eager = matches!(rel.lazy, Lazy::Joined | Lazy::SelectIn);
        let named = nodes.iter().any(|n| std::ptr::eq(n.rel, rel));
        let on_path = path.contains(&(rel as *const Relationship));
        if eager && !named && !on_path && path.len() < MAX_DEFAULT_DEPTH {
            nodes.push(LoadNode {
                rel,
                strategy: Strategy::of(rel.lazy),
                children: Vec::new(),
            });
        }
    }
    for node in nodes.iter_mut() {
        if node.strategy.deferred().is_some() {
            continue;
        }
        path.push(node.rel);
        add_defaults(node.rel.target, &mut node.children, path)?;
        path.pop();
    }
    Ok(())
}
