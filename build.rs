//! `embed_migrations!` reads `migrations/` at compile time; without this, editing a migration
//! would leave a stale binary that still embeds the old SQL.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
