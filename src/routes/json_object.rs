//! `Object<T>`: a request body that must be a JSON object.
//!
//! serde's derived structs also accept a JSON array of the fields in order
//! (`["a@b.co", "Ada"]`), which no client means on purpose. Wrapping the body
//! type in `Object` makes everything but an object a deserialisation error.

use serde::de::{Deserialize, Deserializer, Visitor};
use serde::forward_to_deserialize_any;

#[derive(Debug)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(MapOnly(deserializer)).map(Object)
    }
}

/// A deserializer that asks for a map whatever it is asked for.
struct MapOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for MapOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_map(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Pair {
        a: String,
        b: String,
    }

    #[test]
    fn an_object_is_accepted() {
        let Object(pair) = serde_json::from_str::<Object<Pair>>(r#"{"a":"1","b":"2"}"#).unwrap();
        assert_eq!(
            pair,
            Pair {
                a: "1".into(),
                b: "2".into()
            }
        );
    }

    #[test]
    fn an_array_of_the_fields_is_refused() {
        assert!(serde_json::from_str::<Object<Pair>>(r#"["1","2"]"#).is_err());
    }

    #[test]
    fn other_values_are_refused() {
        for text in ["1", "\"x\"", "null", "true"] {
            assert!(
                serde_json::from_str::<Object<Pair>>(text).is_err(),
                "{text}"
            );
        }
    }
}
