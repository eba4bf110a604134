//! The README's quick start: define a model, migrate its table, register a store, create a user.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run --example quickstart
//! ```
//!
//! Without `DATABASE_URL` it connects to `localhost:5432/storehaus` as `postgres`/`password`.
//! It exits non-zero when the user it created cannot be read back as written.

use storehaus::prelude::*;

// Define a model
#[model]
#[table(name = "users")]
pub struct User {
    #[primary_key]
    pub id: Uuid,

    #[field(create, update)]
    pub name: String,

    #[field(create, update)]
    pub email: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Database configuration with connection pool settings
    let config = match std::env::var("DATABASE_URL") {
        Ok(url) => DatabaseConfig::from_url(&url)?,
        Err(_) => DatabaseConfig::new(
            "localhost".to_string(), // host
            5432,                    // port
            "storehaus".to_string(), // database
            "postgres".to_string(),  // username
            "password".to_string(),  // password
            1,                       // min_connections
            10,                      // max_connections
            30,                      // connection_timeout_seconds
            600,                     // idle_timeout_seconds
            3600,                    // max_lifetime_seconds
        ),
    };

    // Create StoreHaus instance
    let mut storehaus = StoreHaus::new(config).await?;

    // Auto-migrate table
    storehaus.auto_migrate::<User>(true).await?;

    // Create store
    let user_store = GenericStore::<User>::new(
        storehaus.pool().clone(),
        None, // no signals
        None, // no cache
    );

    // Register and use store
    storehaus.register_store("users".to_string(), user_store)?;
    let user_store = storehaus.get_store::<GenericStore<User>>("users")?;

    // CRUD operations
    let user = User { id: Uuid::new_v4(), name: "John Doe".to_string(), email: "john@example.com".to_string() };

    let created = user_store.create(user, None).await?;
    println!("Created user: {}", created.name);

    // Read the user back from the database, so a wrong result fails the run instead of passing silently.
    let stored = user_store.get_by_id(&created.id).await?.ok_or("the created user cannot be read back")?;
    if (stored.name.as_str(), stored.email.as_str()) != ("John Doe", "john@example.com") {
        return Err(format!("read back {:?}, not the user that was created", stored.data()).into());
    }
    println!("Read back user {} <{}>", stored.name, stored.email);

    Ok(())
}
