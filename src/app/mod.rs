//! What each endpoint does, as plain blocking functions over `Db`: HTTP parses and serialises,
//! these decide. Every function is scoped to the caller's portal.

pub mod imports;
pub mod objects;
pub mod properties;
pub mod row_count;
