//! The shared schema's rows and the deterministic data set every implementation is run against.
//!
//! Every implementation converts its own row types into these (outside the timed loop) so its
//! results can be compared with what was seeded.

/// The hair colour the medium complex query filters on.
pub const BLACK: &str = "black";

/// A row of `users(id, name, hair_color)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key.
    pub id: i32,
    /// Not null.
    pub name: String,
    /// Nullable.
    pub hair_color: Option<String>,
}

/// A row of `posts(id, user_id, title, body)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Primary key.
    pub id: i32,
    /// References `users.id`.
    pub user_id: i32,
    /// Not null.
    pub title: String,
    /// Nullable.
    pub body: Option<String>,
}

/// A row of `comments(id, post_id, text)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Primary key.
    pub id: i32,
    /// References `posts.id`.
    pub post_id: i32,
    /// Not null.
    pub text: String,
}

/// A user to insert: the database assigns the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Not null.
    pub name: String,
    /// Nullable.
    pub hair_color: Option<String>,
}

/// One row of the medium complex query: a user and, through the LEFT JOIN, one of its posts.
pub type UserWithPost = (User, Option<Post>);

/// One user of the loading-associations workload with its posts and their comments.
pub type UserTree = (User, Vec<(Post, Vec<Comment>)>);

/// Half the users are black-haired, a quarter brown-haired, a quarter have no colour (NULL).
fn hair_color(index: usize) -> Option<String> {
    match index % 4 {
        0 | 2 => Some(BLACK.to_owned()),
        1 => Some("brown".to_owned()),
        _ => None,
    }
}

/// Converts a 0-based index into a 1-based primary key.
fn key(index: usize) -> i32 {
    i32::try_from(index + 1).unwrap_or(i32::MAX)
}

/// The rows loaded into the database before a workload runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fixture {
    /// Ids 1..=n in order.
    pub users: Vec<User>,
    /// Ids 1..=n in order, grouped by user.
    pub posts: Vec<Post>,
    /// Ids 1..=n in order, grouped by post.
    pub comments: Vec<Comment>,
}

impl Fixture {
    /// `n` users and nothing else.
    pub fn users(n: usize) -> Self {
        let users = (0..n)
            .map(|i| User {
                id: key(i),
                name: format!("User {i}"),
                hair_color: hair_color(i),
            })
            .collect();
        Fixture {
            users,
            ..Fixture::default()
        }
    }

    /// `n` users where user `i` (0-based) has `i % 3` posts, so the LEFT JOIN meets users with
    /// none, one and two posts.
    pub fn users_with_posts(n: usize) -> Self {
        let mut fixture = Fixture::users(n);
        let mut posts = Vec::new();
        for (i, user) in fixture.users.iter().enumerate() {
            for k in 0..i % 3 {
                posts.push(new_post(posts.len(), user.id, k));
            }
        }
        fixture.posts = posts;
        fixture
    }

    /// `users` users, each with `posts_per_user` posts, each with `comments_per_post` comments.
    pub fn users_posts_comments(
        users: usize,
        posts_per_user: usize,
        comments_per_post: usize,
    ) -> Self {
        let mut fixture = Fixture::users(users);
        let mut posts = Vec::with_capacity(users * posts_per_user);
        let mut comments = Vec::with_capacity(users * posts_per_user * comments_per_post);
        for user in &fixture.users {
            for k in 0..posts_per_user {
                let post = new_post(posts.len(), user.id, k);
                for c in 0..comments_per_post {
                    comments.push(Comment {
                        id: key(comments.len()),
                        post_id: post.id,
                        text: format!("Comment {c} on post {}", post.id),
                    });
                }
                posts.push(post);
            }
        }
        fixture.posts = posts;
        fixture.comments = comments;
        fixture
    }

    /// What `users LEFT JOIN posts WHERE hair_color = 'black'` returns, in [`sort_medium`] order.
    pub fn expected_medium(&self) -> Vec<UserWithPost> {
        let mut rows = Vec::new();
        for user in self
            .users
            .iter()
            .filter(|u| u.hair_color.as_deref() == Some(BLACK))
        {
            let mut any = false;
            for post in self.posts.iter().filter(|p| p.user_id == user.id) {
                rows.push((user.clone(), Some(post.clone())));
                any = true;
            }
            if !any {
                rows.push((user.clone(), None));
            }
        }
        sort_medium(&mut rows);
        rows
    }

    /// Every user with its posts and their comments, in [`sort_trees`] order.
    pub fn expected_trees(&self) -> Vec<UserTree> {
        let mut trees: Vec<UserTree> = self
            .users
            .iter()
            .map(|user| {
                let posts = self
                    .posts
                    .iter()
                    .filter(|p| p.user_id == user.id)
                    .map(|post| {
                        let comments = self
                            .comments
                            .iter()
                            .filter(|c| c.post_id == post.id)
                            .cloned()
                            .collect();
                        (post.clone(), comments)
                    })
                    .collect();
                (user.clone(), posts)
            })
            .collect();
        sort_trees(&mut trees);
        trees
    }
}

fn new_post(index: usize, user_id: i32, k: usize) -> Post {
    Post {
        id: key(index),
        user_id,
        title: format!("Post {k} by user {user_id}"),
        // Every other post has no body, so NULL travels through the join too.
        body: (index % 2 == 0).then(|| format!("Body of post {}", key(index))),
    }
}

/// `n` users to insert, with the same name and colour pattern as the seeded ones.
pub fn new_users(n: usize) -> Vec<NewUser> {
    (0..n)
        .map(|i| NewUser {
            name: format!("New user {i}"),
            hair_color: hair_color(i),
        })
        .collect()
}

/// Orders medium-query rows by user id, then post id: no implementation is asked for an order.
pub fn sort_medium(rows: &mut [UserWithPost]) {
    rows.sort_by_key(|(user, post)| (user.id, post.as_ref().map(|p| p.id)));
}

/// Orders users, each user's posts and each post's comments by id.
pub fn sort_trees(trees: &mut [UserTree]) {
    trees.sort_by_key(|(user, _)| user.id);
    for (_, posts) in trees.iter_mut() {
        posts.sort_by_key(|(post, _)| post.id);
        for (_, comments) in posts.iter_mut() {
            comments.sort_by_key(|c| c.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medium_fixture_mixes_users_without_and_with_several_posts() {
        let fixture = Fixture::users_with_posts(1000);
        let expected = fixture.expected_medium();
        assert_eq!(fixture.posts.len(), 999);
        assert!(expected.iter().any(|(_, p)| p.is_none()));
        assert!(expected
            .iter()
            .all(|(u, _)| u.hair_color.as_deref() == Some(BLACK)));
        // 500 black users; those with two posts give two rows.
        assert!(expected.len() > 500);
    }

    #[test]
    fn association_fixture_has_the_announced_shape() {
        let fixture = Fixture::users_posts_comments(100, 10, 10);
        assert_eq!(
            (
                fixture.users.len(),
                fixture.posts.len(),
                fixture.comments.len()
            ),
            (100, 1000, 10_000)
        );
        let trees = fixture.expected_trees();
        assert!(trees.iter().all(|(_, posts)| posts.len() == 10));
        assert!(trees
            .iter()
            .flat_map(|(_, posts)| posts)
            .all(|(_, comments)| comments.len() == 10));
    }
}
