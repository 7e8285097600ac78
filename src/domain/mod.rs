//! Domain values of the service: parsed, validated, free of HTTP and SQL.
//!
//! Every value here is built only through its `parse` (or a constructor that
//! cannot produce an invalid value), so code that holds one never re-checks it.

mod email;
mod entity_tag;
mod error;
mod fnv;
mod idempotency;
mod search_term;
mod timestamp;
mod user;
mod user_id;
mod user_name;
mod version;
mod wire;

pub use email::Email;
pub use entity_tag::{EntityTag, InvalidTagList, ListedTag, TagCondition};
pub use error::ValidationError;
pub use fnv::Fnv;
pub use idempotency::{IdempotencyKey, InvalidIdempotencyKey, KeyOwner, RetryableCreate};
pub use search_term::{InvalidSearch, SearchKind, SearchTerm};
pub use timestamp::{InvalidTimestamp, Timestamp};
pub use user::{NewUser, User, UserPatch};
pub use user_id::{InvalidUserId, UserId};
pub use user_name::UserName;
pub use version::Version;
pub use wire::{RawUser, UserRecord, UserRow, USER_FIELDS};
