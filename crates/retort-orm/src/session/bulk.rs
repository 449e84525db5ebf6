//! Core UPDATE and DELETE statements run through the session, and keeping its objects in
//! step with the rows they change (SQLAlchemy's `synchronize_session="fetch"`).

use super::*;

impl SessionShared {
    /// Runs any statement after autoflush. An UPDATE or DELETE also brings the objects it
    /// changes into step (SQLAlchemy's `synchronize_session="fetch"`): before it runs, the
    /// keys of the rows it will change are selected — only if objects of its table are loaded
    /// — and afterwards those objects are expired (UPDATE) or marked deleted (DELETE). Other
    /// objects are left as they are.
    /// `params` are the values of its [`bindparam`](retort_core::sql::bindparam)s.
    pub(crate) fn run_rows(
        &self,
        stmt: &impl Executable,
        params: &[(&str, Value)],
    ) -> Result<CursorResult> {
        let mut state = self.lock();
        self.autoflush(&mut state)?;
        let Some(dml) = stmt.dml() else {
            return self.connection(&mut state)?.execute_with(stmt, params);
        };
        // A value missing from the statement's SET fails it after the keys are selected:
        // nothing has changed by then.
        let changing = self.objects_changed_by(&mut state, dml, params)?;
        let result = self.connection(&mut state)?.execute_with(stmt, params)?;
        synchronize(&mut state, dml, changing);
        Ok(result)
    }

    /// The loaded objects whose rows `dml` will change, found by selecting their keys with
    /// the statement's own WHERE (and the other tables it names) in the same transaction.
    pub(super) fn objects_changed_by(
        &self,
        state: &mut SessionState,
        dml: Dml<'_>,
        params: &[(&str, Value)],
    ) -> Result<Vec<Arc<dyn ObjHandle>>> {
        let (table, where_) = match dml {
            Dml::Update(u) => (&u.table, &u.where_),
            Dml::Delete(d) => (&d.table, &d.where_),
        };
        let loaded: Vec<Arc<dyn ObjHandle>> = state
            .identity
            .values()
            .filter(|o| o.mapper().table_name() == &*table.name)
            .cloned()
            .collect();
        let Some(where_) = where_ else {
            return Ok(loaded);
        };
        let mut mappers: Vec<&'static Mapper> = Vec::new();
        for obj in &loaded {
            if !mappers.iter().any(|m| std::ptr::eq(*m, obj.mapper())) {
                mappers.push(obj.mapper());
            }
        }
        let mut changing = Vec::new();
        for mapper in mappers {
            let keys: Vec<Expr> = mapper
                .primary_key()
                .iter()
                .map(|&i| {
                    let column = &mapper.columns()[i];
                    Expr::Column(ColumnRef {
                        table: Some(table.clone()),
                        name: Arc::from(column.name),
                        sql_type: Some(column.sql_type.clone()),
                    })
                })
                .collect();
            let select = Statement::Query(CoreQuery::Select(Box::new(SelectCore {
                columns: keys,
                from: vec![FromItem::Table(table.clone())],
                where_: Some(where_.clone()),
                distinct: true,
                ..SelectCore::default()
            })));
            // The WHERE's bind parameters take their values from the statement's.
            let conn = self.connection(state)?;
            let select = conn.prepare(&select)?;
            let given: Vec<(&str, Value)> = params
                .iter()
                .filter(|(name, _)| select.bind_names().any(|b| b == *name))
                .cloned()
                .collect();
            let matched: HashSet<Key> = conn
                .execute_with(&select, &given)?
                .into_rows()
                .into_iter()
                .filter_map(|row| Key::from_values(&row.into_values()))
                .collect();
            changing.extend(loaded.iter().filter(|o| {
                std::ptr::eq(o.mapper(), mapper)
                    && o.meta().key.as_ref().is_some_and(|k| matched.contains(k))
            }));
        }
        Ok(changing.into_iter().cloned().collect())
    }
}

/// Brings the objects whose rows `dml` changed into step with the database.
pub(super) fn synchronize(
    state: &mut SessionState,
    dml: Dml<'_>,
    changed: Vec<Arc<dyn ObjHandle>>,
) {
    match dml {
        Dml::Update(update) => {
            for obj in changed {
                let pk = obj.mapper().primary_key();
                let moves_key = update.set.iter().any(|(name, _)| {
                    pk.iter()
                        .any(|&i| obj.mapper().columns()[i].name == &**name)
                });
                let mut meta = obj.meta();
                if meta.touched {
                    // An unflushed change (autoflush is off) stays, to be written by the next
                    // flush; expiring the object would throw it away.
                    continue;
                }
                meta.expired = true;
                meta.committed = None;
                drop(meta);
                obj.expire_relations();
                let mut meta = obj.meta();
                if moves_key {
                    // The row now has a key the session cannot know: the object leaves the
                    // session rather than load another row, or none, by its old key.
                    let key = meta.key.take();
                    meta.state = ObjectState::Detached;
                    meta.session = None;
                    drop(meta);
                    if let Some(key) = key {
                        state.identity.remove(&identity_key(&*obj, key));
                    }
                }
            }
        }
        Dml::Delete(_) => {
            for obj in changed {
                let addr = obj.addr();
                state.deleted.retain(|o| o.addr() != addr);
                state.touched.retain(|o| o.addr() != addr);
                let key = {
                    let mut meta = obj.meta();
                    meta.state = ObjectState::Deleted;
                    meta.touched = false;
                    meta.committed = None;
                    meta.key.clone()
                };
                if let Some(key) = key {
                    state.identity.remove(&identity_key(&*obj, key));
                }
                // As for a flushed delete: detached at commit, back at rollback.
                state.removed.push(obj);
            }
        }
    }
}
