//! Parsing at the boundary: what every request pays before storage.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use user_service::domain::{Email, Timestamp, UserId, UserName};
use user_service::storage::{Cursor, Position};

fn domain(c: &mut Criterion) {
    c.bench_function("domain/email_parse", |b| {
        b.iter(|| Email::parse(black_box("  Ada.Lovelace@Example.com ")))
    });
    c.bench_function("domain/name_parse", |b| {
        b.iter(|| UserName::parse(black_box("  Ada Lovelace  ")))
    });
    c.bench_function("domain/id_parse", |b| {
        b.iter(|| UserId::parse(black_box("0193A5C4-7D1E-7CC2-9B1E-4F7E0A8B9C10")))
    });
    c.bench_function("domain/timestamp_format", |b| {
        let ts = Timestamp::from_unix_micros(1_795_519_800_123_456);
        b.iter(|| black_box(ts).to_string())
    });
    let cursor = Cursor {
        scope: 0x0123_4567_89ab_cdef,
        position: Position::Created {
            created_at: Timestamp::from_unix_micros(1_795_519_800_123_456),
            id: UserId::generate(),
        },
    };
    let encoded = cursor.encode();
    c.bench_function("domain/cursor_encode", |b| {
        b.iter(|| black_box(&cursor).encode())
    });
    c.bench_function("domain/cursor_decode", |b| {
        b.iter(|| Cursor::decode(black_box(&encoded)))
    });
}

criterion_group!(benches, domain);
criterion_main!(benches);
