//! Property tests of the boundary parsers and the cursor codec: no input
//! panics them, what they accept is stable, and forged cursors are refused.

use proptest::prelude::*;
use user_service::domain::{Email, Timestamp, UserId, UserName};
use user_service::storage::{Cursor, Position};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn email_parse_never_panics_and_is_idempotent(raw in any::<String>()) {
        if let Ok(email) = Email::parse(&raw) {
            let again = Email::parse(email.as_str()).expect("a parsed email parses again");
            prop_assert_eq!(again.as_str(), email.as_str());
            prop_assert_eq!(email.as_str(), email.as_str().trim());
            prop_assert!(Email::from_stored(email.as_str().to_owned()).is_ok());
        }
    }

    #[test]
    fn a_stored_email_is_accepted_exactly_when_it_is_its_own_normal_form(
        raw in "[ ]?[a-zA-Z0-9.ÀÉéσςΣİ\u{1D49E}]{1,12}@[a-zA-Z0-9Éé]{1,8}\\.[a-zA-Z]{1,4}[ ]?",
    ) {
        let normal_form = Email::parse(&raw).is_ok_and(|email| email.as_str() == raw);
        prop_assert_eq!(Email::from_stored(raw.clone()).is_ok(), normal_form, "{:?}", raw);
    }

    #[test]
    fn email_like_strings_follow_the_rules(
        local in "[A-Za-z0-9._%+-]{1,70}",
        domain in "[A-Za-z0-9-]{1,20}(\\.[A-Za-z0-9-]{1,10}){0,3}",
        pad in "[ \\t\\n]{0,3}",
    ) {
        let raw = format!("{pad}{local}@{domain}{pad}");
        let expected = local.chars().count() <= 64 && domain.contains('.');
        prop_assert_eq!(Email::parse(&raw).is_ok(), expected, "{:?}", raw);
    }

    #[test]
    fn name_parse_never_panics_and_keeps_only_trimmed_valid_names(raw in any::<String>()) {
        if let Ok(name) = UserName::parse(&raw) {
            let text = name.as_str();
            prop_assert_eq!(text, text.trim());
            prop_assert!((1..=200).contains(&text.chars().count()));
            prop_assert!(!text.chars().any(char::is_control));
            prop_assert!(UserName::from_stored(text.to_owned()).is_ok());
        }
    }

    #[test]
    fn id_parse_never_panics(raw in any::<String>()) {
        let _ = UserId::parse(&raw);
    }

    #[test]
    fn a_cursor_round_trips(scope in any::<u64>(), micros in any::<i64>(), id in any::<[u8; 16]>()) {
        let cursor = Cursor { scope, position: Position::Created { created_at: Timestamp::from_unix_micros(micros), id: UserId::from_bytes(id) } };
        prop_assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
    }

    #[test]
    fn cursor_decode_never_panics(raw in any::<String>()) {
        let _ = Cursor::decode(&raw);
    }

    #[test]
    fn a_cursor_with_any_one_character_changed_is_refused(
        scope in any::<u64>(),
        micros in any::<i64>(),
        id in any::<[u8; 16]>(),
        at in 0usize..51,
        replacement in "[A-Za-z0-9_-]",
    ) {
        let cursor = Cursor { scope, position: Position::Created { created_at: Timestamp::from_unix_micros(micros), id: UserId::from_bytes(id) } };
        let encoded = cursor.encode();
        let mut chars: Vec<char> = encoded.chars().collect();
        let new = replacement.chars().next().unwrap();
        prop_assume!(chars[at] != new);
        chars[at] = new;
        let forged: String = chars.into_iter().collect();
        prop_assert!(Cursor::decode(&forged).is_err(), "{} accepted", forged);
    }

    #[test]
    fn timestamps_always_format_as_rfc3339(micros in -62_135_596_800_000_000i64..253_402_300_799_999_999) {
        let text = Timestamp::from_unix_micros(micros).to_string();
        prop_assert_eq!(text.len(), 27);
        prop_assert!(text.ends_with('Z'));
    }
}
