//! The seed guide ("SQLAlchemy Module in Python: A Comprehensive Guide"), section by section,
//! in Rust with retort.
//!
//! ```text
//! cargo run --example quickstart                                   # SQLite, ./quickstart.db
//! cargo run --example quickstart -- postgresql://postgres@127.0.0.1/test
//! cargo run --example quickstart -- mysql://root@127.0.0.1/test
//! ```

use retort::prelude::*;

// --- Defining Models -------------------------------------------------------------------
// `class User(Base): __tablename__ = 'users'` becomes a derived struct. `Option<T>` columns
// may be NULL; the key is `None` until the database assigns it at flush.
#[derive(Model, Debug, Default)]
#[retort(table = "users")]
pub struct User {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 50)]
    pub name: Option<String>,
    pub age: Option<i32>,
    // --- Relationships: One-to-Many ----------------------------------------------------
    // User.addresses = relationship("Address", order_by=Address.id, back_populates="user")
    // The default loader is lazy='select' (the guide's "Lazy Loading").
    #[retort(relationship(back_populates = "user", order_by = "id", lazy = "select"))]
    pub addresses: Many<Address>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "addresses")]
pub struct Address {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(length = 100)]
    pub email: Option<String>,
    // user_id = Column(Integer, ForeignKey('users.id'))
    #[retort(foreign_key = "users.id")]
    pub user_id: Option<i64>,
    // user = relationship("User", back_populates="addresses")
    #[retort(relationship(back_populates = "addresses"))]
    pub user: One<User>,
}

// --- Relationships: Many-to-Many ---------------------------------------------------------
// association_table = Table('association', Base.metadata,
//     Column('left_id', ForeignKey('left.id')), Column('right_id', ForeignKey('right.id')))
association_table! {
    pub static ASSOCIATION = "association" {
        left_id: i64 => "left.id",
        right_id: i64 => "right.id",
    }
}

#[derive(Model, Debug, Default)]
#[retort(table = "left")]
pub struct Left {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(relationship(secondary = "association", back_populates = "parents"))]
    pub children: Many<Right>,
}

#[derive(Model, Debug, Default)]
#[retort(table = "right")]
pub struct Right {
    #[retort(primary_key)]
    pub id: Option<i64>,
    #[retort(relationship(secondary = "association", back_populates = "children"))]
    pub parents: Many<Left>,
}

impl std::fmt::Display for User {
    // The guide's __repr__.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<User(name={:?}, age={:?})>", self.name, self.age)
    }
}

fn main() -> Result<()> {
    // --- Engine ------------------------------------------------------------------------
    // create_engine('sqlite:///example.db')
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sqlite:///quickstart.db".into());
    let engine = create_engine(url.as_str())?;

    // --- Declarative Base / Creating the Database -------------------------------------
    // Every #[derive(Model)] registers with `Base`; Base.metadata.create_all(engine):
    let metadata = Base::metadata()?;
    metadata.drop_all(&engine)?; // start from a clean slate each run
    metadata.create_all(&engine)?;

    // --- Session -----------------------------------------------------------------------
    // Session = sessionmaker(bind=engine); session = Session()
    let factory = sessionmaker(&engine);
    let session = factory.session();

    // --- CRUD: Create ------------------------------------------------------------------
    let new_user = session.add(User {
        name: Some("Alice".into()),
        age: Some(25),
        ..Default::default()
    });
    println!("before commit: id = {:?}", new_user.read()?.id);
    session.commit()?;
    println!("after commit:  id = {:?}", new_user.read()?.id);
    session.add_all([
        User {
            name: Some("Bob".into()),
            age: Some(31),
            ..Default::default()
        },
        User {
            name: Some("Carol".into()),
            age: Some(17),
            ..Default::default()
        },
    ]);
    session.commit()?;

    // --- CRUD: Read --------------------------------------------------------------------
    for user in session.query::<User>().all()? {
        println!("{}", *user.read()?);
    }
    if let Some(user) = session.query::<User>().filter_by("id", 1).first()? {
        println!("by id: {}", *user.read()?);
    }

    // --- CRUD: Update ------------------------------------------------------------------
    // No save call: the session sees the change and UPDATEs only the changed column.
    if let Some(user) = session.query::<User>().filter_by("id", 1).first()? {
        user.write()?.age = Some(26);
        session.commit()?;
        println!("updated: {}", *user.read()?);
    }

    // --- CRUD: Delete ------------------------------------------------------------------
    if let Some(user) = session.query::<User>().filter_by("name", "Carol").first()? {
        session.delete(&user)?;
        session.commit()?;
        println!("deleted Carol; she is now {:?}", user.state());
    }

    // --- Querying the Database ---------------------------------------------------------
    let adults = session.query::<User>().filter(User::age.ge(20)).all()?;
    println!("age >= 20: {}", adults.len());
    let by_age = session.query::<User>().order_by(User::age).all()?;
    println!("youngest: {}", *by_age[0].read()?);
    let limited = session.query::<User>().limit(10).all()?;
    println!("limit 10: {}", limited.len());
    // session.query(func.count(User.id)).scalar()
    let user_count: i64 = session.execute(&select(func::count(User::id)))?.scalar()?;
    println!("user count: {user_count}");

    // --- Relationships -----------------------------------------------------------------
    // Adding a user adds its addresses too (the save-update cascade); the flush INSERTs the
    // user first and fills each address's user_id from the key the database gave it.
    let dora = session.add(User {
        name: Some("Dora".into()),
        age: Some(40),
        addresses: Many::from(vec![
            Address {
                email: Some("dora@example.com".into()),
                ..Default::default()
            },
            Address {
                email: Some("dora@work.example".into()),
                ..Default::default()
            },
        ]),
        ..Default::default()
    });
    session.commit()?;
    for address in dora.read()?.addresses.get()? {
        // back_populates: each address points back at the same Dora object.
        let owner = match address.read()?.user.get()? {
            Some(user) => user.read()?.name.clone(),
            None => None,
        };
        println!("{:?} belongs to {:?}", address.read()?.email, owner);
    }
    // Many-to-many: appending to a collection writes the association row at the next flush.
    let left = session.add(Left::default());
    let right = session.add(Right::default());
    left.read()?.children.push(&right)?;
    session.commit()?;
    println!("right's parents: {}", right.read()?.parents.get()?.len());

    // --- Migrations with Alembic ---------------------------------------------------------
    // `alembic init` and `alembic revision --autogenerate`: retort-migrate (README, section
    // "Migrations"; examples/blog is a project with revisions and its migrator binary).
    // Autogenerate compares the models with the database; create_all built this one from the
    // same models, so it finds nothing to write.
    let autogenerate = retort_migrate::Migrator::new(Vec::new()).metadata(Base::metadata()?);
    println!(
        "autogenerate finds {} change(s)",
        autogenerate.compare(&engine)?.changes.len()
    );

    // --- Eager Loading -----------------------------------------------------------------
    // session.query(User).options(joinedload(User.addresses)).all(): one SELECT with a
    // LEFT OUTER JOIN; reading the addresses afterwards sends nothing.
    let users = session
        .query::<User>()
        .options(joinedload(User::addresses))
        .all()?;
    for user in &users {
        let user = user.read()?;
        println!(
            "{:?}: {} address(es)",
            user.name,
            user.addresses.get()?.len()
        );
    }

    // --- Lazy Loading ------------------------------------------------------------------
    // Without an option, the first access to `addresses` sends one SELECT for that user.
    session.expire_all();
    if let Some(user) = session.query::<User>().filter_by("name", "Dora").first()? {
        println!("lazy: {} address(es)", user.read()?.addresses.get()?.len());
    }

    // --- Error Handling ----------------------------------------------------------------
    // A duplicate primary key is an IntegrityError; roll back and carry on.
    session.add(User {
        id: Some(1),
        name: Some("Duplicate".into()),
        ..Default::default()
    });
    match session.commit() {
        Err(Error::Integrity(e)) => {
            session.rollback()?;
            println!("Error: Could not add user ({:?})", e.kind());
        }
        other => other?,
    }
    let still: i64 = session.query::<User>().count()?;
    println!("after rollback: {still} users");

    session.close()?;
    Ok(())
}
